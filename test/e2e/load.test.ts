/**
 * `neurograph load` as a user runs it, against a real `neurograph serve` child process: the
 * configured rate is what the report measures, a stalled node shows in the open-loop percentiles
 * (no coordinated omission), SLO misses fail the exit code, and the report files are written and
 * the chart renders in headless Chromium.
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LoadReport } from "../../src/load/index.ts";
import type { StressReport } from "../../src/load/index.ts";
import { BIN, cli, startServe, type ServeProcess } from "./cli-helpers.ts";

const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p));

describe("neurograph load against neurograph serve", () => {
  const dir = mkdtempSync(join(tmpdir(), "ng-load-"));
  let node: ServeProcess;
  let env: Record<string, string>;

  beforeAll(async () => {
    node = await startServe(join(dir, "data"));
    env = { NG_GRPC_ADDR: node.address };
  });
  afterAll(async () => {
    expect(await node.stop()).toBe(0);
    rmSync(dir, { recursive: true, force: true });
  });

  async function load(args: readonly string[]): Promise<{ code: number | null; report: LoadReport; stderr: string }> {
    const r = await cli(["load", ...args, "--json", "--quiet", "--no-report"], env);
    if (r.stdout.trim() === "") throw new Error(`no report (exit ${r.code}); stderr:\n${r.stderr}`);
    return { code: r.code, report: JSON.parse(r.stdout) as LoadReport, stderr: r.stderr };
  }

  it("an open-loop run reports the configured rate within 5 %", async () => {
    const { code, report, stderr } = await load(["get", "--preload", "500", "--rate", "50", "--ramp-up", "1s", "--duration", "6s"]);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(report.mode).toBe("open");
    expect(report.errors).toBe(0);
    expect(Math.abs(report.rate - 50) / 50).toBeLessThanOrEqual(0.05);
    expect(report.operations).toBeGreaterThan(250);
    expect(report.latencyUs.count).toBe(report.operations);
    expect(report.curve.length).toBeGreaterThan(10);
  });

  /**
   * Runs a load with its progress on stderr (one line per 5 s when not a terminal, the first
   * after 1 s of the run) and stops the node (SIGSTOP) for 1 s as soon as that first line shows.
   */
  function loadWithStall(args: readonly string[]): Promise<{ code: number | null; report: LoadReport }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, "load", ...args, "--json", "--no-report"], { env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "", ...env }, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      let stalled = false;
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => {
        stderr += d.toString();
        if (!stalled && /measuring:/.test(stderr)) {
          stalled = true;
          process.kill(node.pid, "SIGSTOP");
          setTimeout(() => process.kill(node.pid, "SIGCONT"), 1000);
        }
      });
      child.on("error", reject);
      child.on("close", (code) => {
        if (!stalled || stdout.trim() === "") reject(new Error(`no stall or no report (exit ${code}); stderr:\n${stderr}`));
        else resolve({ code, report: JSON.parse(stdout) as LoadReport });
      });
    });
  }

  it("a stalled node shows in the open-loop percentiles, not in the closed-loop ones", async () => {
    const open = await loadWithStall(["get", "--ids", "1-500", "--rate", "40", "--duration", "5s", "--timeout", "20s"]);
    expect(open.code).toBe(0);
    // About 40 of 200 ops were due while the node was stopped for 1 s: each waited for the rest
    // of the stall, so the top 10 % of latencies are hundreds of ms, the max close to the stall.
    expect(open.report.latencyUs.max).toBeGreaterThanOrEqual(800_000);
    expect(open.report.latencyUs.p90).toBeGreaterThanOrEqual(300_000);

    const closed = await loadWithStall(["get", "--ids", "1-500", "--concurrency", "1", "--duration", "5s", "--timeout", "20s"]);
    expect(closed.code).toBe(0);
    // One closed-loop client sent one request into the stall and waited: one slow sample, which
    // the percentiles below the max hide (coordinated omission).
    expect(closed.report.latencyUs.max).toBeGreaterThanOrEqual(800_000);
    expect(closed.report.latencyUs.p90).toBeLessThan(open.report.latencyUs.p90);
  });

  it("a missed SLO exits with 4 and names it; a met one exits with 0", async () => {
    const missed = await load(["create", "--rate", "20", "--batch", "10", "--duration", "2s", "--max-p50", "1us", "--max-error-rate", "0"]);
    expect(missed.code).toBe(4);
    expect(missed.report.passed).toBe(false);
    expect(missed.report.slo.find((v) => v.flag === "--max-p50")).toMatchObject({ threshold: 1, passed: false });
    expect(missed.report.slo.find((v) => v.flag === "--max-error-rate")).toMatchObject({ passed: true });
    expect(missed.report.tokens).toBe(missed.report.operations * 10);

    const met = await load(["ingest", "--count", "30", "--concurrency", "2", "--batch", "100", "--max-p99", "10s", "--min-token-rate", "1"]);
    expect(met.code).toBe(0);
    expect(met.report.passed).toBe(true);
    expect(met.report.operations).toBe(30);
    expect(met.report.tokens).toBe(3000);
  });

  it("bad flags are usage errors (exit 2) naming every problem", async () => {
    const r = await cli(["load", "get", "--rate", "fast", "--duration", "10"], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--rate fast");
    expect(r.stderr).toContain("--duration 10");
    expect(r.stderr).toContain("--preload");
  });

  it("writes the report files, and the chart renders in headless Chromium", async () => {
    const reportDir = join(dir, "load-report-chart");
    const r = await cli(["load", "mix", "--mix", "get=3,neighbors=1,traverse=1", "--preload", "300", "--rate", "40", "--workers", "2", "--duration", "3s", "--max-p99", "2s", "--quiet", "--report-dir", reportDir], env);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("all SLOs met");
    const report = JSON.parse(readFileSync(join(reportDir, "report.json"), "utf8")) as LoadReport;
    expect(report.byOp.map((o) => o.op)).toEqual(["get", "neighbors", "traverse"]);
    expect(report.plan.workers).toBe(2);
    expect(readFileSync(join(reportDir, "report.txt"), "utf8")).toContain("p99.9");
    expect(readFileSync(join(reportDir, "report.html"), "utf8")).toContain("<svg");
    const svg = readFileSync(join(reportDir, "latency.svg"), "utf8");
    expect(svg.startsWith("<svg")).toBe(true);

    expect(CHROMIUM, "the chart check needs Chromium (Debian package chromium)").toBeDefined();
    // A page that embeds the chart and reports what the browser laid out.
    const page = join(dir, "chart-check.html");
    writeFileSync(
      page,
      `<!doctype html><html><body>${svg}<pre id="out"></pre><script>
        const curve = document.getElementById("curve").getBBox();
        const slo = document.getElementById("slo-p99").getBBox();
        const ticks = [...document.querySelectorAll(".x-tick")].map((t) => t.textContent);
        const markers = [...document.querySelectorAll(".marker")].map((t) => t.textContent);
        document.getElementById("out").textContent = "RESULT" + JSON.stringify({ w: curve.width, h: curve.height, sloY: slo.y, curveTop: curve.y, ticks, markers, title: document.getElementById("title").textContent }) + "END";
      </script></body></html>`,
    );
    const dom = execFileSync(CHROMIUM!, ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", `--user-data-dir=${join(dir, "chromium")}`, "--dump-dom", `file://${page}`], { encoding: "utf8", timeout: 90_000, stdio: ["ignore", "pipe", "ignore"] });
    const m = /RESULT(.*)END/.exec(dom);
    expect(m).not.toBeNull();
    const shown = JSON.parse(m![1]!.replaceAll("&quot;", '"')) as { w: number; h: number; sloY: number; curveTop: number; ticks: string[]; markers: string[]; title: string };
    expect(shown.w).toBeGreaterThan(500);
    expect(shown.h).toBeGreaterThan(0);
    expect(shown.ticks).toEqual(expect.arrayContaining(["0%", "90%", "99%", "max"]));
    expect(shown.markers.some((t) => t.startsWith("p99 "))).toBe(true);
    expect(shown.title).toContain("mix");
    // The whole curve lies under the 2 s SLO line (smaller y is higher on screen).
    expect(shown.curveTop).toBeGreaterThan(shown.sloY);
  });
});

describe("neurograph load stress", () => {
  it("starts its own nodes, ingests into each, reports measured figures and the quota behaviour at the limit", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ng-stress-"));
    try {
      // 95 k against 100 k: the original's 9.5 M against 10 M at 1/100 scale (the load ends at the
      // soft threshold).
      const r = await cli(["load", "stress", "--tokens", "95k", "--quota", "100k", "--batch", "500", "--after-limit", "5", "--shards", "2", "--json", "--quiet", "--report-dir", join(dir, "load-report")], {});
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const report = JSON.parse(r.stdout) as StressReport;
      expect(report.runs.map((run) => run.config)).toEqual(["full", "bare"]);
      for (const run of report.runs) {
        expect(run.tokens).toBe(95_000);
        expect(run.nodeTokens).toBe(95_000);
        expect(run.rssAtStartBytes).toBeGreaterThan(0);
        expect(run.peakRssBytes).toBeGreaterThanOrEqual(run.rssAtStartBytes);
        expect(run.bytesPerToken).toBeCloseTo((run.peakRssBytes - run.rssAtStartBytes) / 95_000, 6);
        expect(run.exitCode).toBe(0);
        expect(run.nodeCpuSeconds).toBeGreaterThan(0);
      }
      expect(report.overhead).not.toBeNull();
      expect(report.cpuOverhead).toBeCloseTo(report.runs[0]!.nodeCpuSeconds / report.runs[1]!.nodeCpuSeconds - 1, 6);
      expect(report.runs[1]!.quota).toBe(0);
      expect(report.runs[1]!.atLimit).toBeUndefined();

      const limit = report.runs[0]!.atLimit!;
      expect(report.runs[0]!.quota).toBe(100_000);
      // The load ended at the soft threshold (95 %): the guardian said so and ran its cleanup,
      // which removes no tokens under the default policy.
      expect(limit.afterLoad.tokens).toMatchObject({ usage: 95_000, limit: 100_000, softLimit: 95_000, level: "soft", refused: 0 });
      expect(limit.afterLoad.softCrossings).toBe(1);
      expect(limit.afterLoad.cleanups).toBeGreaterThanOrEqual(1);
      expect(limit.afterLoad.cleanupTokensRemoved).toBe(0);
      // Exactly the room left was accepted; the next batch was refused whole with the quota named.
      expect(limit.acceptedToLimit).toBe(5000);
      expect(limit.usageAtFirstRefusal).toBe(100_000);
      expect(limit.firstRefusal).toMatchObject({ code: "QUOTA_EXCEEDED" });
      expect(limit.firstRefusal!.message).toContain("quota tokens exhausted: usage 100000 of limit 100000");
      // Every write after it was refused, a single token included; nothing got in.
      expect(limit.writesAfterLimit).toBe(6);
      expect(limit.refusedAfterLimit).toBe(6);
      expect(limit.refusedTokens).toBe(5 * 500 + 1);
      expect(limit.singleTokenRefused).toBe(true);
      expect(limit.nodeTokensAfter).toBe(100_000);
      expect(limit.after.tokens).toMatchObject({ usage: 100_000, level: "hard", refused: 7 });
      expect(limit.after.hardCrossings).toBe(1);
      // Reads at the limit still work.
      expect(limit.readsSucceeded).toBe(true);
      expect(limit.tokensReadBack).toBe(500);

      expect(JSON.parse(readFileSync(join(dir, "load-report", "stress.json"), "utf8"))).toEqual(report);
      expect(readFileSync(join(dir, "load-report", "stress.txt"), "utf8")).toContain("first refusal after 5000 more tokens, at 100.0k tokens: QUOTA_EXCEEDED");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses a load that does not fit under the quota (exit 2)", async () => {
    const r = await cli(["load", "stress", "--tokens", "30k", "--quota", "20k", "--quiet", "--no-report"], {});
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--tokens 30.0k");
    expect(r.stderr).toContain("--quota 20.0k");
  });
});
