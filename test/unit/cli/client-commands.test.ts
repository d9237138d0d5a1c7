import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { compact, formatDuration, ProgressLine, renderProgress } from "../../../src/cli/commands/progress.ts";
import { LineMap, readConnections, tokenRecords, type InputFile } from "../../../src/cli/commands/input.ts";
import { formatViolations, loadClientConfig } from "../../../src/cli/commands/shared.ts";
import { table } from "../../../src/cli/commands/format.ts";
import { decodeTokenRecords, ValidationError } from "../../../src/client/index.ts";

function input(text: string | Buffer, chunk = 7): InputFile {
  const bytes = typeof text === "string" ? Buffer.from(text) : text;
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += chunk) parts.push(bytes.subarray(i, i + chunk));
  return { stream: Readable.from(parts), size: bytes.length, bytesRead: () => bytes.length };
}

async function collect(gen: AsyncGenerator<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const p of gen) parts.push(p);
  return Buffer.concat(parts);
}

describe("progress line", () => {
  it("renders a bar, percentage, count, rate and ETA when the total is known", () => {
    expect(renderProgress({ done: 25_000, elapsedMs: 2000, fraction: 0.25, unit: "tokens" })).toBe("[#####---------------]   25%  25000 tokens  12.5k tokens/s  ETA 6s");
    expect(renderProgress({ done: 100, elapsedMs: 2000, unit: "tokens" })).toBe("100 tokens  50 tokens/s  2s");
    expect(renderProgress({ done: 10, elapsedMs: 0, fraction: 1, unit: "tokens" })).toBe("[####################]  100%  10 tokens  0 tokens/s  0s");
  });

  it("formats rates and durations", () => {
    expect([compact(999), compact(12_345), compact(3_400_000), compact(Infinity)]).toEqual(["999", "12.3k", "3.4M", "?"]);
    expect([formatDuration(1499), formatDuration(125_000), formatDuration(3_720_000)]).toEqual(["1s", "2m05s", "1h02m"]);
  });

  it("redraws in place on a TTY, throttled; prints plain periodic lines otherwise; nothing when quiet", () => {
    let now = 0;
    const tty: string[] = [];
    const p = new ProgressLine({ mode: "tty", unit: "tokens", write: (t) => tty.push(t), now: () => now });
    p.update(10, 0.1);
    now = 50;
    p.update(20, 0.2); // within 100 ms: skipped
    now = 150;
    p.update(30, 0.3);
    p.finish(100, 1);
    expect(tty.length).toBe(4);
    expect(tty[0]!.startsWith("\r\x1b[2K[##")).toBe(true);
    expect(tty[3]).toBe("\n");

    now = 0;
    const lines: string[] = [];
    const l = new ProgressLine({ mode: "lines", unit: "tokens", write: (t) => lines.push(t), now: () => now });
    l.update(1);
    now = 1999;
    l.update(2);
    now = 2000;
    l.update(3);
    now = 2500;
    l.finish(4);
    expect(lines).toEqual(["3 tokens  2 tokens/s  2s\n", "4 tokens  2 tokens/s  3s\n"]);

    const quiet: string[] = [];
    const q = new ProgressLine({ mode: "off", unit: "tokens", write: (t) => quiet.push(t) });
    q.update(1);
    q.finish(1);
    expect(quiet).toEqual([]);
    expect(ProgressLine.modeFor(false, { isTTY: true })).toBe("tty");
    expect(ProgressLine.modeFor(false, { isTTY: false })).toBe("lines");
    expect(ProgressLine.modeFor(true, { isTTY: true })).toBe("off");
  });
});

describe("input files", () => {
  it("reads JSON lines in camelCase or snake_case, skipping blank lines, and maps positions to lines", async () => {
    const lines = new LineMap();
    const text = '{"id":1,"coords":{"l1":[1,2,3]},"weight":0.5,"entity_type":"concept"}\n\n{"id":2,"field_radius":1.5,"systemFlags":3}\r\n\n\n{"id":3}';
    const records = await collect(tokenRecords(input(text), "jsonl", lines));
    const tokens = decodeTokenRecords(records);
    expect(tokens.map((t) => t.id)).toEqual([1, 2, 3]);
    expect(tokens[0]).toMatchObject({ weight: 0.5, entityType: 5 });
    expect(tokens[0]!.coords.l1).toEqual([1, 2, 3]);
    expect(tokens[1]).toMatchObject({ fieldRadius: 1.5, systemFlags: 3 });
    expect([lines.line(0), lines.line(1), lines.line(2)]).toEqual([1, 3, 6]);
  });

  it("lists every bad line of a chunk: JSON, unknown fields, types, values", async () => {
    const text = '{"id":1,"wieght":1}\n[1,2]\n{"id":"7"}\n{oops\n{"id":5,"coords":{"l3":[40,0,0]}}\n';
    const err = await collect(tokenRecords(input(text), "jsonl", new LineMap())).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).violations.map((v) => [v.index, v.field, v.rule])).toEqual([
      [0, "wieght", "unknown_field"],
      [1, "", "json_object"],
      [2, "id", "type"],
      [3, "", "json"],
    ]);
    const range = await collect(tokenRecords(input('{"id":5,"coords":{"l3":[40,0,0]}}\n'), "jsonl", new LineMap())).catch((e: unknown) => e);
    expect((range as ValidationError).violations[0]).toMatchObject({ index: 0, field: "coords.l3.x", rule: "coord_range" });
  });

  it("reads packed .bin files across chunk boundaries and rejects a partial record", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 1, max: 200 }), async (n, chunk) => {
        const bytes = Buffer.alloc(n * 64);
        for (let i = 0; i < n; i++) bytes.writeUInt32LE(i + 1, i * 64 + 48);
        const out = await collect(tokenRecords(input(bytes, chunk), "bin", new LineMap()));
        expect(Buffer.from(out).equals(bytes)).toBe(true);
      }),
      { numRuns: 50 },
    );
    const err = await collect(tokenRecords(input(Buffer.alloc(130), 50), "bin", new LineMap())).catch((e: unknown) => e);
    expect((err as ValidationError).violations[0]).toMatchObject({ rule: "record_size" });
  });

  it("reads connections with snake_case keys and names", async () => {
    const list = await readConnections(input('{"source":1,"target":2,"type":80,"pull_strength":-2,"mutability":"hypothesis"}\n'), new LineMap());
    expect(list).toEqual([{ source: 1, target: 2, type: 80, pullStrength: -2, mutability: "hypothesis" }]);
  });
});

describe("output and configuration", () => {
  it("prints violations with positions the user knows", () => {
    const lines = formatViolations(
      [
        { index: 4, field: "weight", value: "1.5", rule: "weight_range", description: "weight must be within [0, 1]" },
        { field: "", value: "bad", rule: "json", description: "not JSON" },
      ],
      (i) => `line ${i + 2}`,
    );
    expect(lines).toEqual(["  line 6: weight = 1.5  [weight_range] weight must be within [0, 1]", "  bad  [json] not JSON"]);
    expect(formatViolations(Array.from({ length: 25 }, () => ({ field: "f", rule: "r", description: "d" })), undefined, 20).at(-1)).toBe("  … and 5 more");
  });

  it("aligns tables, numbers to the right", () => {
    expect(table(["id", "name"], [[1, "a"], [100, "bcd"]])).toBe(" id  name\n  1  a\n100  bcd");
  });

  it("takes the address from --addr over NG_GRPC_ADDR over the default", () => {
    expect(loadClientConfig({}, {}).values.addr.address).toBe("127.0.0.1:50051");
    expect(loadClientConfig({}, {}).sources.deadline).toBe("default");
    expect(loadClientConfig({}, { NG_GRPC_ADDR: "10.0.0.1:7000" }).values.addr.address).toBe("10.0.0.1:7000");
    expect(loadClientConfig({ addr: "[::1]:9000" }, { NG_GRPC_ADDR: "10.0.0.1:7000" }).values.addr.address).toBe("[::1]:9000");
    const c = loadClientConfig({ deadline: "2s", token: "t0k", tlsCa: "ca.pem" }, { NG_CLIENT_DEADLINE: "9s" });
    expect([c.values.deadline, c.values.token, c.values.tlsCa?.endsWith("/ca.pem"), c.sources.deadline]).toEqual([2000, "t0k", true, "flag"]);
  });
});
