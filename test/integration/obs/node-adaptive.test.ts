/**
 * Adaptive (dynamic-rate) sampling in a real node under load: switched on at run time through
 * AdminService, a flood of calls to one operation drives that operation's rate down towards the
 * target of sampled traces per second, while a quiet operation keeps its full rate; the spans
 * kept carry the consistent-sampling threshold of their operation's rate.
 */
import { Metadata } from "@grpc/grpc-js";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RecordFormat } from "../../../src/gen/neurograph/v1/common.ts";
import { call, startTestNode, type TestNode } from "../node/harness.ts";

const TOKEN = "adaptive-test-admin-token-0123456789";
const GET = "neurograph.v1.TokenService/GetTokens";
const STATS = "neurograph.v1.AdminService/GetStats";
const exporter = new InMemorySpanExporter();
let t: TestNode;

function admin(): Metadata {
  const md = new Metadata();
  md.set("authorization", `Bearer ${TOKEN}`);
  return md;
}

beforeAll(async () => {
  t = await startTestNode(["--admin-token", TOKEN, "--trace-sample-rate", "1"], { tracing: { exporter } });
});

afterAll(async () => {
  await t?.close();
});

describe("dynamic-rate sampling under load", () => {
  it("lowers the flooded operation's rate towards the target and leaves the quiet one alone", async () => {
    const INTERVAL = 100;
    await call(t.admin.updateSamplingConfig.bind(t.admin), { patchJson: JSON.stringify({ dynamic: { enabled: true, targetTracesPerSecond: 2, intervalMs: INTERVAL, minRate: 0.0001 } }) }, admin());
    const dyn = t.node.observability.sampling.dynamic;
    expect(dyn).toBeDefined();
    expect(dyn?.rateOf(GET)).toBe(1);

    // Load: closed-loop reads (8 in flight) until several intervals have closed under load. The
    // bound is intervals observed, not time: the machine's speed changes how many calls that is.
    const get = (): Promise<unknown> => call(t.tokens.getTokens.bind(t.tokens), { ids: [1], format: RecordFormat.RECORD_FORMAT_PACKED, allowMissing: true });
    let loaded = 0;
    let calls = 0;
    let lastArrivals = -1;
    const rates: number[] = [];
    while (loaded < 6) {
      await Promise.all(Array.from({ length: 8 }, get));
      calls += 8;
      const op = dyn?.operations().find((o) => o.operation === GET);
      if (op !== undefined && op.arrivalsPerSecond !== lastArrivals && op.arrivalsPerSecond > 0) {
        lastArrivals = op.arrivalsPerSecond;
        rates.push(op.rate);
        // Intervals whose arrivals would exceed the target at full rate count as loaded.
        if (op.arrivalsPerSecond > 2 * 1.3) loaded++;
      }
    }
    const op = dyn?.operations().find((o) => o.operation === GET);
    // Lowered and kept down: at 100 ms intervals a target of 2/s is never inside the dead band
    // (0 or ≥ 10 sampled per second), so each interval lowers to target / arrivals or raises
    // towards it at most: the rate never exceeds it.
    expect(op?.rate).toBeLessThan(1);
    expect(op!.rate).toBeLessThanOrEqual(Math.max(0.0001, (2 * 1.3) / op!.arrivalsPerSecond) * (1 + 1e-9));
    expect(rates.length).toBeGreaterThanOrEqual(6);

    // The quiet operation was never under load: its first call is sampled at the full rate
    // (threshold 0), whatever the flooded operation's rate is.
    await call(t.admin.getStats.bind(t.admin), {}, admin());
    await t.node.observability.flush();
    const quiet = exporter.getFinishedSpans().filter((s) => s.name === STATS);
    expect(quiet).toHaveLength(1);
    expect(quiet[0]?.spanContext().traceState?.get("ot")).toBe("th:0");

    // The flooded operation's sampled traces now carry a non-zero rejection threshold, and fewer
    // of its calls were kept than made (the first interval ran at the full rate).
    expect(op?.threshold).toMatch(/^[0-9a-f]+$/);
    expect(op?.threshold).not.toBe("0");
    const roots = exporter.getFinishedSpans().filter((s) => s.name === GET && s.parentSpanContext === undefined);
    expect(roots.length).toBeGreaterThan(0);
    expect(roots.length).toBeLessThan(calls);
  });
});
