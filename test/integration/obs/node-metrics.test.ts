/**
 * `/metrics` of a real node, scraped over HTTP: a fresh node lists every family of DESIGN §7;
 * after a scripted workload (gRPC writes, reads, a failing call, traced and untraced requests) the
 * counters equal the work done; the output passes `promtool check metrics`; a real Prometheus
 * server started by the test scrapes the node and stores the same values.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Metadata, status } from "@grpc/grpc-js";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RecordFormat } from "../../../src/gen/neurograph/v1/common.ts";
import { packTokens } from "../api/fixtures.ts";
import { call, failure, startTestNode, type TestNode } from "../node/harness.ts";
import { freePort, run, stop, waitFor } from "../telemetry/support.ts";
import { EXPECTED_FAMILIES, parseExposition, valueOf, type Exposition } from "../../unit/telemetry/exposition.ts";

const exporter = new InMemorySpanExporter();
let t: TestNode;
let fresh: string;
const ids: number[] = [];

async function scrape(): Promise<string> {
  const r = await fetch(`${t.node.metricsAddress}/metrics`);
  expect(r.status).toBe(200);
  expect(r.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  return r.text();
}

function sum(e: Exposition, name: string): number {
  return e.samples.filter((s) => s.name === name).reduce((a, s) => a + s.value, 0);
}

const BATCHES = 5;
const PER_BATCH = 8;
const TRACED = 2;

beforeAll(async () => {
  // Tracing on at rate 0: every root call is a counted "not sampled" decision, the traced calls
  // (sampled parents) are counted as kept.
  t = await startTestNode(["--trace-sample-rate", "0"], { tracing: { exporter, exportImmediately: true } });
  // Ready: recovery and the start-up edge reconciliation (shard messages of their own) are done.
  await t.node.ready;
  fresh = await scrape();
  for (let b = 0; b < BATCHES; b++) {
    const md = new Metadata();
    if (b < TRACED) md.set("traceparent", `00-0af7651916cd43dd8448eb211c80319${b}-b7ad6b716920333${b}-01`);
    const r = await call(
      t.tokens.createTokens.bind(t.tokens),
      { tokens: { payload: { $case: "packed", value: packTokens(Array.from({ length: PER_BATCH }, () => ({ id: 0 }))) } }, partial: false },
      md,
    );
    ids.push(...r.ids);
  }
  await call(t.tokens.getTokens.bind(t.tokens), { ids: ids.slice(0, 4), format: RecordFormat.RECORD_FORMAT_PACKED, allowMissing: false });
  const err = await failure(call(t.tokens.getTokens.bind(t.tokens), { ids: [4_000_000], format: RecordFormat.RECORD_FORMAT_PACKED, allowMissing: false }));
  expect(err.code).toBe(status.NOT_FOUND);
});

afterAll(async () => {
  await t?.close();
});

describe("a node's /metrics", () => {
  it("lists every family on a fresh node, with its type", () => {
    const e = parseExposition(fresh);
    for (const [name, type] of Object.entries(EXPECTED_FAMILIES)) {
      expect({ name, type: e.types.get(name) }).toEqual({ name, type });
      expect(e.help.get(name)?.length ?? 0, `${name} has help text`).toBeGreaterThan(0);
    }
    expect(valueOf(e, "neurograph_actors", { kind: "shard" })).toBe(4);
    expect(sum(e, "neurograph_tokens")).toBe(0);
    expect(sum(e, "neurograph_actor_restarts_total")).toBe(0);
  });

  it("counts the work done", async () => {
    const e = parseExposition(await scrape());
    const shards = (list: readonly number[]): number => new Set(list.map((id) => id % 4)).size;
    // gRPC: every call by method and code, one latency observation each.
    const grpc = (method: string, code: string): number | undefined => valueOf(e, "neurograph_grpc_server_handled_total", { method: `neurograph.v1.TokenService/${method}`, code });
    expect(grpc("CreateTokens", "OK")).toBe(BATCHES);
    expect(grpc("GetTokens", "OK")).toBe(1);
    expect(grpc("GetTokens", "NOT_FOUND")).toBe(1);
    expect(valueOf(e, "neurograph_grpc_server_handling_seconds_count", { method: "neurograph.v1.TokenService/CreateTokens" })).toBe(BATCHES);
    expect(valueOf(e, "neurograph_grpc_server_handling_seconds_count", { method: "neurograph.v1.TokenService/GetTokens" })).toBe(2);
    // Tokens per shard and in all.
    expect(sum(e, "neurograph_tokens")).toBe(BATCHES * PER_BATCH);
    for (let s = 0; s < 4; s++) expect(valueOf(e, "neurograph_tokens", { shard: String(s) })).toBe(ids.filter((id) => id % 4 === s).length);
    // Shard messages: one per shard a call touched (the failed read touches the shard of its id).
    const creates = Array.from({ length: BATCHES }, (_, b) => shards(ids.slice(b * PER_BATCH, (b + 1) * PER_BATCH)));
    const messages = creates.reduce((a, n) => a + n, 0) + shards(ids.slice(0, 4)) + 1;
    const atStart = valueOf(parseExposition(fresh), "neurograph_actor_messages_total", { kind: "shard" }) ?? 0;
    expect(valueOf(e, "neurograph_actor_messages_total", { kind: "shard" })).toBe(atStart + messages);
    expect(sum(e, "neurograph_actor_restarts_total")).toBe(0);
    expect(sum(e, "neurograph_actor_mailbox_depth")).toBe(0);
    // Sampling: untraced roots dropped by probability (rate 0), their shard turns follow the
    // unsampled parent without a decision; each traced write kept its server span, shard turns and WAL commits.
    const decision = (reason: string, outcome: string): number | undefined => valueOf(e, "neurograph_sampling_decisions_total", { reason, outcome });
    // Per traced write: the server span, and per shard its turn, its WAL actor's turn and the commit.
    const tracedSpans = creates.slice(0, TRACED).reduce((a, n) => a + 1 + 3 * n, 0);
    expect(decision("probability", "dropped")).toBe(BATCHES - TRACED + 2);
    expect(decision("parent_sampled", "sampled")).toBe(tracedSpans);
    // Shard turns of unsampled traces skip the decision (the parent-based rule would drop them).
    expect(decision("parent_unsampled", "dropped") ?? 0).toBe(0);
    await t.node.observability.flush();
    expect(exporter.getFinishedSpans()).toHaveLength(tracedSpans);
  });

  for (const which of ["fresh", "after the workload"] as const) {
    it(`passes promtool check metrics (${which})`, async () => {
      const text = which === "fresh" ? fresh : await scrape();
      const r = await run("promtool", ["check", "metrics"], text);
      expect(r.stdout + r.stderr).toBe("");
      expect(r.code).toBe(0);
    });
  }
});

interface QueryResponse {
  status: string;
  data: { result: { metric: Record<string, string>; value: [number, string] }[] };
}

describe("a real Prometheus server scraping the node", () => {
  let dir: string;
  let prometheus: ChildProcess | undefined;
  let promUrl: string;
  let promLog = "";

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "ng-node-prom-"));
    const promPort = await freePort();
    promUrl = `http://127.0.0.1:${promPort}`;
    const config = join(dir, "prometheus.yml");
    const target = new URL(t.node.metricsAddress).host;
    writeFileSync(config, ["global:", "  scrape_interval: 1s", "  scrape_timeout: 1s", "scrape_configs:", "  - job_name: neurograph", "    static_configs:", `      - targets: ["${target}"]`, ""].join("\n"));
    prometheus = spawn(
      "prometheus",
      [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, "data")}`, `--web.listen-address=127.0.0.1:${promPort}`, "--log.level=warn"],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    prometheus.stdout?.on("data", (d: Buffer) => (promLog += d.toString()));
    prometheus.stderr?.on("data", (d: Buffer) => (promLog += d.toString()));
    const exited = new Promise<never>((_, reject) => prometheus?.once("exit", (code) => reject(new Error(`prometheus exited with ${code}: ${promLog}`))));
    await Promise.race([waitFor("Prometheus to be ready", 90_000, async () => ((await fetch(`${promUrl}/-/ready`)).ok ? true : undefined)), exited]);
  });

  afterAll(async () => {
    if (prometheus !== undefined) await stop(prometheus);
    rmSync(dir, { recursive: true, force: true });
  });

  async function query(q: string): Promise<QueryResponse["data"]["result"]> {
    const body = (await (await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(q)}`)).json()) as QueryResponse;
    expect(body.status).toBe("success");
    return body.data.result;
  }

  it("scrapes the node and stores its counters", async () => {
    const up = await waitFor("the node's target up", 90_000, async () => {
      const r = await query('up{job="neurograph"}');
      return r[0]?.value[1] === "1" ? r : undefined;
    });
    expect(up).toHaveLength(1);
    const tokens = await waitFor("neurograph_tokens in Prometheus", 90_000, async () => {
      const r = await query("sum(neurograph_tokens)");
      return r.length > 0 ? r : undefined;
    });
    expect(tokens[0]?.value[1]).toBe(String(BATCHES * PER_BATCH));
    const creates = await query('neurograph_grpc_server_handled_total{method="neurograph.v1.TokenService/CreateTokens",code="OK"}');
    expect(creates[0]?.value[1]).toBe(String(BATCHES));
    expect((await query("nodejs_eventloop_lag_seconds")).length).toBe(1);
    // Prometheus found nothing wrong with the exposition.
    const targets = (await (await fetch(`${promUrl}/api/v1/targets`)).json()) as { data: { activeTargets: { lastError: string; health: string }[] } };
    expect(targets.data.activeTargets.map((x) => [x.health, x.lastError])).toEqual([["up", ""]]);
  });
});
