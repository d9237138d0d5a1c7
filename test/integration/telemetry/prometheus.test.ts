/**
 * A real Prometheus server (Debian package `prometheus`) scrapes the endpoint; its HTTP API must
 * show the target up and the values we set.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MetricsRegistry, startMetricsServer, type MetricsServer } from "../../../src/telemetry/index.ts";
import { freePort, stop, waitFor } from "./support.ts";

interface TargetsResponse {
  status: string;
  data: { activeTargets: { health: string; lastError: string; scrapeUrl: string; labels: Record<string, string> }[] };
}
interface QueryResponse {
  status: string;
  data: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
}

describe("a real Prometheus server scrapes the endpoint", () => {
  let dir: string;
  let server: MetricsServer;
  let prometheus: ChildProcess | undefined;
  let promUrl: string;
  let promLog = "";
  const metrics = new MetricsRegistry({ version: "0.1.0-test" });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "ng-prometheus-"));
    metrics.walCommit(0.002, 1234, 1234 * 64);
    metrics.grpcHandled("/neurograph.v1.TokenService/Create", 0, 0.003);
    metrics.setTokens(3, 777);
    server = await startMetricsServer({ metrics, port: 0 });
    const promPort = await freePort();
    promUrl = `http://127.0.0.1:${promPort}`;
    const config = join(dir, "prometheus.yml");
    writeFileSync(
      config,
      [
        "global:",
        "  scrape_interval: 1s",
        "  scrape_timeout: 1s",
        "scrape_configs:",
        "  - job_name: neurograph",
        "    static_configs:",
        `      - targets: ["127.0.0.1:${server.port}"]`,
        "",
      ].join("\n"),
    );
    prometheus = spawn(
      "prometheus",
      [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, "data")}`, `--web.listen-address=127.0.0.1:${promPort}`, "--log.level=warn"],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    prometheus.stdout?.on("data", (d: Buffer) => (promLog += d.toString()));
    prometheus.stderr?.on("data", (d: Buffer) => (promLog += d.toString()));
    const exited = new Promise<never>((_, reject) => {
      prometheus?.once("exit", (code) => reject(new Error(`prometheus exited with ${code}: ${promLog}`)));
    });
    await Promise.race([
      waitFor("Prometheus to be ready", 90_000, async () => ((await fetch(`${promUrl}/-/ready`)).ok ? true : undefined)),
      exited,
    ]);
  });

  afterAll(async () => {
    if (prometheus !== undefined) await stop(prometheus);
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("lists the target as up", async () => {
    const target = await waitFor("the scrape target to be up", 90_000, async () => {
      const body = (await (await fetch(`${promUrl}/api/v1/targets`)).json()) as TargetsResponse;
      const t = body.data.activeTargets.find((x) => x.labels.job === "neurograph");
      return t?.health === "up" ? t : undefined;
    });
    expect(target.scrapeUrl).toBe(`${server.url}/metrics`);
    expect(target.lastError).toBe("");
  });

  it("stores the scraped values", async () => {
    const query = async (q: string): Promise<QueryResponse["data"]["result"]> => {
      const body = (await (await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(q)}`)).json()) as QueryResponse;
      expect(body.status).toBe("success");
      return body.data.result;
    };
    const appends = await waitFor("neurograph_wal_appends_total in Prometheus", 90_000, async () => {
      const r = await query("neurograph_wal_appends_total");
      return r.length > 0 ? r : undefined;
    });
    expect(appends[0]?.value[1]).toBe("1234");
    expect((await query('neurograph_tokens{shard="3"}'))[0]?.value[1]).toBe("777");
    expect((await query('up{job="neurograph"}'))[0]?.value[1]).toBe("1");
    const built = await query("neurograph_build_info");
    expect(built[0]?.metric.version).toBe("0.1.0-test");
    // The process collectors arrive too (event-loop lag is part of DESIGN §7).
    expect((await query("nodejs_eventloop_lag_seconds")).length).toBe(1);
  });

  it("sees later updates on the next scrape", async () => {
    metrics.walCommit(0.001, 1000, 64_000);
    const v = await waitFor("the updated counter", 90_000, async () => {
      const body = (await (await fetch(`${promUrl}/api/v1/query?query=neurograph_wal_appends_total`)).json()) as QueryResponse;
      const value = body.data.result[0]?.value[1];
      return value === "2234" ? value : undefined;
    });
    expect(v).toBe("2234");
  });
});
