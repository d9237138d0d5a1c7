import { AlwaysOnSampler, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ValidationError } from "../../../src/core/errors.ts";
import { componentLogger, createLogger, startTracing, withSpan, type TracingHandle } from "../../../src/telemetry/index.ts";

/** A pino destination that keeps every line. */
function capture(): { write(line: string): void; lines(): Record<string, unknown>[] } {
  const raw: string[] = [];
  return {
    write: (line) => {
      raw.push(line);
    },
    lines: () => raw.join("").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe("logger", () => {
  let tracing: TracingHandle;
  const exporter = new InMemorySpanExporter();
  beforeAll(async () => {
    tracing = await startTracing({ serviceName: "log-test", sampler: new AlwaysOnSampler(), spanProcessors: [new SimpleSpanProcessor(exporter)], env: {} });
  });
  afterAll(async () => {
    await tracing.shutdown();
  });

  it("writes one JSON object per line with level name, ISO time, name and pid", () => {
    const out = capture();
    const log = createLogger({ name: "ng", destination: out });
    log.info({ shard: 3 }, "shard recovered");
    log.debug("not at info");
    const [line, ...rest] = out.lines();
    expect(rest).toEqual([]);
    expect(line).toMatchObject({ level: "info", name: "ng", pid: process.pid, shard: 3, msg: "shard recovered" });
    expect(typeof line?.time === "string" && !Number.isNaN(Date.parse(line.time))).toBe(true);
    expect(line).not.toHaveProperty("trace_id");
  });

  it("adds trace_id, span_id and trace_flags of the active span", async () => {
    const out = capture();
    const log = createLogger({ destination: out });
    const ids = await withSpan("outer", undefined, async (outer) => {
      log.info("in outer");
      const inner = await withSpan("inner", undefined, (span) => {
        log.warn("in inner");
        return Promise.resolve(span.spanContext());
      });
      return { outer: outer.spanContext(), inner };
    });
    log.info("after");
    const [a, b, c] = out.lines();
    expect(a).toMatchObject({ trace_id: ids.outer.traceId, span_id: ids.outer.spanId, trace_flags: "01" });
    expect(b).toMatchObject({ trace_id: ids.outer.traceId, span_id: ids.inner.spanId });
    expect(c).not.toHaveProperty("trace_id");
  });

  it("gives components child loggers and serialises errors with stack and cause", () => {
    const out = capture();
    const wal = componentLogger(createLogger({ level: "debug", destination: out }), "wal", { shard: 5 });
    wal.debug("commit");
    wal.error({ err: new Error("fsync failed", { cause: new Error("EIO") }) }, "commit failed");
    const [a, b] = out.lines();
    expect(a).toMatchObject({ component: "wal", shard: 5, level: "debug" });
    const err = b?.err as { type: string; message: string; stack: string };
    expect(err.type).toBe("Error");
    expect(err.message).toContain("fsync failed");
    expect(err.stack).toContain("logger.test.ts");
    expect(JSON.stringify(b)).toContain("EIO");
  });

  it("rejects an unknown level with a clear error", () => {
    expect(() => createLogger({ level: "verbose", destination: capture() })).toThrow(ValidationError);
    expect(() => createLogger({ level: "verbose", destination: capture() })).toThrow(/fatal, error, warn, info, debug, trace, silent/);
    expect(createLogger({ level: " WARN ", destination: capture() }).level).toBe("warn");
  });
});
