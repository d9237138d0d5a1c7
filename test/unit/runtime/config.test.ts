import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { InternalError, ValidationError } from "../../../src/core/errors.ts";
import {
  boolean,
  byteSize,
  describeOptions,
  duration,
  hostPort,
  integer,
  list,
  loadConfig,
  nodeConfigSchema,
  oneOf,
  option,
  optional,
  url,
  type ParseContext,
} from "../../../src/runtime/index.ts";

const cwd = "/srv/ng";
const files = (content: Record<string, string>) => (p: string): string => {
  const c = content[p];
  if (c === undefined) throw Object.assign(new Error("missing"), { code: "ENOENT" });
  return c;
};

function failure(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ValidationError) return err;
    throw err;
  }
  throw new Error("expected a ValidationError");
}

describe("configuration loading", () => {
  it("uses the documented defaults", () => {
    const { values, sources } = loadConfig(nodeConfigSchema, { env: {}, cwd });
    expect(values.grpcAddr).toEqual({ host: "127.0.0.1", port: 50051, address: "127.0.0.1:50051" });
    expect(values.dataDir).toBe(resolve(cwd, "data"));
    expect(values.shards).toBe(16);
    expect(values.metricsAddr.address).toBe("127.0.0.1:9464");
    expect(values.mailboxCapacity).toBe(1024);
    expect(values.logLevel).toBe("info");
    expect(values.askTimeout).toBe(30_000);
    expect(values.shutdownTimeout).toBe(10_000);
    expect(Object.values(sources).every((s) => s === "default")).toBe(true);
  });

  it("applies flags > environment > config file > defaults", () => {
    const readFile = files({
      "/etc/ng.json": JSON.stringify({ grpc: { addr: "10.0.0.1:1" }, shards: 8, mailbox: { capacity: 100 }, log: { level: "warn" } }),
    });
    const { values, sources, configFile } = loadConfig(nodeConfigSchema, {
      argv: ["--grpc-addr", "10.0.0.3:3", "--log-level=debug", "serve-arg"],
      env: { NG_GRPC_ADDR: "10.0.0.2:2", NG_SHARDS: "32", NG_CONFIG: "/etc/ng.json" },
      cwd,
      readFile,
    });
    expect(configFile).toBe("/etc/ng.json");
    expect(values.grpcAddr.address).toBe("10.0.0.3:3");
    expect(sources.grpcAddr).toBe("flag");
    expect(values.shards).toBe(32);
    expect(sources.shards).toBe("env");
    expect(values.mailboxCapacity).toBe(100);
    expect(sources.mailboxCapacity).toBe("file");
    expect(values.logLevel).toBe("debug");
    expect(values.dataDir).toBe(resolve(cwd, "data"));
    expect(sources.dataDir).toBe("default");
  });

  it("accepts flags parsed elsewhere (e.g. by commander) by option name or flag name", () => {
    const { values } = loadConfig(nodeConfigSchema, { flags: { shards: "4", "data-dir": "/d" }, env: {}, cwd });
    expect(values.shards).toBe(4);
    expect(values.dataDir).toBe("/d");
  });

  it("resolves relative paths in the config file against the file's folder", () => {
    const readFile = files({ "/etc/ng/conf.json": JSON.stringify({ data: { dir: "store" } }) });
    const { values } = loadConfig(nodeConfigSchema, { configFile: "/etc/ng/conf.json", env: {}, cwd, readFile });
    expect(values.dataDir).toBe("/etc/ng/store");
  });

  it("reports every bad value with its source in one ValidationError", () => {
    const readFile = files({ "/c.json": JSON.stringify({ shards: 0, metrics: { addr: 9464 }, colour: "blue" }) });
    const err = failure(() =>
      loadConfig(nodeConfigSchema, {
        argv: ["--mailbox-capacity", "lots", "--verbose"],
        env: { NG_GRPC_ADDR: "abc", NG_LOG_LEVEL: "loud", NG_SHUTDOWN_TIMEOUT: "5" },
        configFile: "/c.json",
        cwd,
        readFile,
      }),
    );
    const lines = err.violations.map((v) => v.description);
    expect(lines).toContain('NG_GRPC_ADDR="abc": expected host:port, e.g. 127.0.0.1:50051');
    expect(lines).toContain('NG_LOG_LEVEL="loud": expected one of fatal, error, warn, info, debug, trace, silent');
    expect(lines).toContain('NG_SHUTDOWN_TIMEOUT="5": expected a duration with a unit (ms, s, m, h), e.g. 250ms or 5s');
    expect(lines).toContain('--mailbox-capacity="lots": expected an integer in 1..1048576');
    expect(lines).toContain('shards (in /c.json)="0": 0 is out of range 1..4096; expected an integer in 1..4096');
    expect(lines).toContain('metrics.addr (in /c.json)="9464": expected host:port, e.g. 127.0.0.1:9464');
    expect(lines.some((l) => l.startsWith('colour (in /c.json)="\\"blue\\"": unknown option'))).toBe(true);
    expect(lines.some((l) => l.startsWith('--verbose="": unknown flag'))).toBe(true);
    expect(err.violations).toHaveLength(8);
    expect(err.message).toContain("invalid configuration (8 problems)");
    for (const line of lines) expect(err.message).toContain(line);
  });

  it("reports a missing or malformed config file", () => {
    expect(failure(() => loadConfig(nodeConfigSchema, { configFile: "nope.json", env: {}, cwd, readFile: files({}) })).message).toContain(
      "the file does not exist",
    );
    const bad = failure(() => loadConfig(nodeConfigSchema, { configFile: "/x.json", env: {}, cwd, readFile: files({ "/x.json": "{" }) }));
    expect(bad.message).toContain("not valid JSON");
  });

  it("is extensible by spreading, with derived flag, env and key names, and rejects clashing schemas", () => {
    const schema = {
      ...nodeConfigSchema,
      natsUrl: option("natsUrl", { default: "", description: "NATS server", parser: optional(url(["nats:", "tls:"])) }),
      walMaxBatch: option("walMaxBatch", { default: "64MiB", description: "max batch", parser: byteSize({ max: 2 ** 31 }) }),
      tls: option("tls", { default: "false", description: "TLS", parser: boolean() }),
    };
    expect(schema.natsUrl.env).toBe("NG_NATS_URL");
    expect(schema.natsUrl.flag).toBe("nats-url");
    expect(schema.walMaxBatch.key).toBe("wal.max.batch");
    const a = loadConfig(schema, { env: {}, cwd });
    expect(a.values.natsUrl).toBeUndefined();
    expect(a.values.walMaxBatch).toBe(64 * 2 ** 20);
    expect(a.values.tls).toBe(false);
    const b = loadConfig(schema, { argv: ["--tls", "--nats-url", "nats://h:4222"], env: {}, cwd });
    expect(b.values.tls).toBe(true);
    expect(b.values.natsUrl).toBe("nats://h:4222");
    expect(loadConfig(schema, { argv: ["--no-tls"], env: { NG_TLS: "yes" }, cwd }).values.tls).toBe(false);
    const clash = { a: option("grpcAddr", { default: "1.1.1.1:1", description: "", parser: hostPort() }), b: nodeConfigSchema.grpcAddr };
    expect(() => loadConfig(clash, { env: {}, cwd })).toThrow(InternalError);
    expect(describeOptions(nodeConfigSchema)[0]).toContain("--grpc-addr <value>");
  });
});

describe("value parsers", () => {
  const ctx: ParseContext = { source: "flag", baseDir: "/" };
  it("parse durations, sizes, integers, lists and enums", () => {
    const d = duration();
    expect(["250ms", "5s", "1.5m", "2h"].map((t) => d.parse(t, ctx))).toEqual([250, 5000, 90_000, 7_200_000]);
    expect(() => d.parse("0s", ctx)).toThrow();
    expect(() => d.parse("5", ctx)).toThrow();
    const b = byteSize();
    expect(["512MiB", "2GB", "1048576", "1.5KiB"].map((t) => b.parse(t, ctx))).toEqual([512 * 2 ** 20, 2e9, 1048576, 1536]);
    expect(() => b.parse("3XB", ctx)).toThrow(/unknown unit/);
    expect(integer({ min: 1, max: 10 }).parse("1_0", ctx)).toBe(10);
    expect(() => integer({ min: 1, max: 10 }).parse("11", ctx)).toThrow(/out of range/);
    expect(list(integer()).parse("1, 2,3", ctx)).toEqual([1, 2, 3]);
    expect(list(integer()).fromJson?.([4, "5"], ctx)).toEqual([4, 5]);
    expect(() => list(integer()).parse("1,x", ctx)).toThrow(/item 2/);
    expect(oneOf(["a", "b"]).parse("b", ctx)).toBe("b");
    expect(hostPort().parse("[::1]:80", ctx)).toEqual({ host: "::1", port: 80, address: "[::1]:80" });
    expect(() => hostPort().parse("h:70000", ctx)).toThrow(/out of range/);
  });
});
