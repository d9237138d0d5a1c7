import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { QuotaExceededError, ValidationError } from "../../../src/core/errors.ts";
import { BlackBox, createLogger, installFatalHandlers, type BlackBoxEvent } from "../../../src/telemetry/index.ts";

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "ng-blackbox-"));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

interface DumpDoc {
  format: string;
  reason: string;
  time: string;
  details?: Record<string, unknown>;
  process: { pid: number; node: string; argv: string[]; memory: { rss: number } };
  stats: { capacity: number; size: number; recorded: number; dropped: number };
  events: BlackBoxEvent[];
}

describe("BlackBox ring", () => {
  it("keeps the newest `capacity` events and counts drops (model-based)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.array(fc.string({ maxLength: 5 }), { maxLength: 60 }), fc.integer({ min: 0, max: 60 }), (capacity, messages, clearAt) => {
        const box = new BlackBox({ dataDir: "/nonexistent", capacity });
        let model: string[] = [];
        let dropped = 0;
        messages.forEach((m, i) => {
          if (i === clearAt) {
            box.clear();
            model = [];
          }
          box.record("generic", "test", m);
          model.push(m);
          if (model.length > capacity) {
            model.shift();
            dropped++;
          }
        });
        expect(box.events().map((e) => e.message)).toEqual(model);
        const recorded = messages.length;
        const stats = box.stats();
        expect(stats.recorded).toBe(recorded);
        expect(stats.size).toBe(model.length);
        expect(stats.capacity).toBe(capacity);
        // Drops count overwrites by a full ring only (clear() does not count as a drop).
        expect(stats.dropped).toBe(dropped);
        const seqs = box.events().map((e) => e.seq);
        expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
        if (seqs.length > 0) expect(seqs[seqs.length - 1]).toBe(recorded);
      }),
    );
  });

  it("counts 5 events into capacity 3 as 3 kept, 2 dropped; clear keeps the totals", () => {
    const box = new BlackBox({ dataDir: "/nonexistent", capacity: 3 });
    for (let i = 1; i <= 5; i++) box.record("generic", "t", `e${i}`);
    expect(box.events().map((e) => e.message)).toEqual(["e3", "e4", "e5"]);
    expect(box.stats()).toEqual({ capacity: 3, size: 3, recorded: 5, dropped: 2 });
    box.clear();
    expect(box.events()).toEqual([]);
    expect(box.stats()).toEqual({ capacity: 3, size: 0, recorded: 5, dropped: 2 });
  });

  it("defaults to 1000 events and validates the capacity", () => {
    expect(new BlackBox({ dataDir: "/x" }).capacity).toBe(1000);
    expect(() => new BlackBox({ dataDir: "/x", capacity: 0 })).toThrow(ValidationError);
  });

  it("records typed events with their attributes", () => {
    let now = Date.parse("2030-01-02T03:04:05.678Z");
    const box = new BlackBox({ dataDir: "/x", clock: () => now++ });
    box.actorRestart("shard/7", new Error("boom"), { restarts: 2 });
    box.quota("tokens", "soft", 950, 1000);
    box.walError("wal/3", new QuotaExceededError("memory_bytes", 10, 5), { lsn: 42 });
    box.constitutionChange(3, 4, "update", { by: "admin" });
    box.slowStep("field/L1", 1.5, 1);
    box.recoveredException("guardian", "weird");
    const [restart, quota, wal, constitution, slow, recovered] = box.events();
    expect(restart).toMatchObject({ kind: "actor_restart", source: "shard/7", time: "2030-01-02T03:04:05.678Z", attributes: { error_name: "Error", error_message: "boom", restarts: 2 } });
    expect(String(restart?.attributes.stack)).toContain("black-box.test.ts");
    expect(quota).toMatchObject({ kind: "quota", attributes: { quota: "tokens", level: "soft", usage: 950, limit: 1000 } });
    expect(wal).toMatchObject({ kind: "wal_error", source: "wal/3", attributes: { error_code: "QUOTA_EXCEEDED", lsn: 42 } });
    expect(constitution?.message).toBe("constitution update: version 3 → 4");
    expect(slow).toMatchObject({ kind: "slow_step", attributes: { seconds: 1.5, threshold_seconds: 1 } });
    expect(recovered?.message).toContain("weird");
  });

  it("clips very long texts", () => {
    const box = new BlackBox({ dataDir: "/x" });
    box.record("generic", "t", "m".repeat(20_000), { big: "b".repeat(20_000) });
    const e = box.events()[0];
    expect(e?.message.length).toBeLessThan(8300);
    expect(String(e?.attributes.big).length).toBeLessThan(8300);
  });
});

describe("BlackBox dumps", () => {
  it("writes pretty JSON with reason, process info, stats and events into <data-dir>/crash", async () => {
    const dataDir = tempDir();
    const box = new BlackBox({ dataDir, clock: () => Date.parse("2031-05-06T07:08:09.010Z") });
    box.record("generic", "node", "started", { version: "1" });
    box.actorRestart("shard/1", new Error("x"));
    const d = await box.dump("admin request", { requested_by: "test" });
    expect(d.path).toBe(join(dataDir, "crash", `blackbox-2031-05-06T07-08-09.010Z-${process.pid}-1.json`));
    expect(d.events).toBe(2);
    const text = readFileSync(d.path, "utf8");
    expect(text.startsWith('{\n  "format"')).toBe(true);
    const doc = JSON.parse(text) as DumpDoc;
    expect(doc).toMatchObject({ format: "neurograph.blackbox/1", reason: "admin request", time: "2031-05-06T07:08:09.010Z", details: { requested_by: "test" } });
    expect(doc.process.pid).toBe(process.pid);
    expect(doc.process.node).toBe(process.version);
    expect(doc.process.memory.rss).toBeGreaterThan(0);
    expect(doc.stats).toEqual({ capacity: 1000, size: 2, recorded: 2, dropped: 0 });
    expect(doc.events.map((e) => e.kind)).toEqual(["generic", "actor_restart"]);
  });

  it("never overwrites: dumps in the same millisecond get distinct names, existing files are skipped", async () => {
    const dataDir = tempDir();
    const box = new BlackBox({ dataDir, clock: () => Date.parse("2031-05-06T07:08:09.010Z") });
    // A file already holding the next name (another process, a previous run) must survive.
    const crash = join(dataDir, "crash");
    await box.dump("first");
    const squatter = join(crash, `blackbox-2031-05-06T07-08-09.010Z-${process.pid}-2.json`);
    writeFileSync(squatter, "keep me");
    const second = box.dumpSync("second");
    const third = await box.dump("third");
    expect(readFileSync(squatter, "utf8")).toBe("keep me");
    expect(new Set([second.path, third.path, squatter]).size).toBe(3);
    const files = readdirSync(crash).sort();
    expect(files).toHaveLength(4);
    const reasons = files.map((f) => readFileSync(join(crash, f), "utf8")).filter((t) => t !== "keep me").map((t) => (JSON.parse(t) as DumpDoc).reason);
    expect(reasons.sort()).toEqual(["first", "second", "third"]);
  });

  it("reports a dump that cannot be written", async () => {
    const dataDir = tempDir();
    writeFileSync(join(dataDir, "crash"), "a file where the directory should be");
    const box = new BlackBox({ dataDir });
    await expect(box.dump("x")).rejects.toThrow();
    expect(() => box.dumpSync("x")).toThrow();
  });
});

describe("fatal handlers", () => {
  it("install once, return the same uninstall, and uninstall cleanly", () => {
    const before = [process.listenerCount("uncaughtException"), process.listenerCount("unhandledRejection")];
    const options = { blackBox: new BlackBox({ dataDir: tempDir() }), logger: createLogger({ destination: { write: () => undefined } }), exit: () => undefined };
    const off = installFatalHandlers(options);
    const again = installFatalHandlers(options);
    expect(again).toBe(off);
    expect(process.listenerCount("uncaughtException")).toBe((before[0] ?? 0) + 1);
    expect(process.listenerCount("unhandledRejection")).toBe((before[1] ?? 0) + 1);
    off();
    expect([process.listenerCount("uncaughtException"), process.listenerCount("unhandledRejection")]).toEqual(before);
    const third = installFatalHandlers(options);
    expect(third).not.toBe(off);
    third();
    expect([process.listenerCount("uncaughtException"), process.listenerCount("unhandledRejection")]).toEqual(before);
  });
});
