/**
 * A commit that fails for real: the child runs under `ulimit -f` (SIGXFSZ ignored), so once
 * LMDB's data file reaches the limit the write fails inside the commit. Every pending write must
 * fail with that error, the logs must turn read-only (stats say so), new appends must be refused
 * synchronously, and after a restart without the limit every acknowledged write is there.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import type { ShardLogStats } from "../../src/actors/shard-log.ts";
import { ModelShard, generateMutation } from "../support/wal-model.ts";

const here = dirname(fileURLToPath(import.meta.url));
const fixture = join(here, "fixtures", "wal-child.ts");
const root = join(here, "..", "..");
const SEED = 77;
const SHARDS = 2;
const MAX_BATCH = 400;

function run(command: string, args: string[]): Promise<{ code: number | null; lines: string[]; stderr: string }> {
  const proc = spawn(command, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let stderr = "";
  proc.stdout.on("data", (d: Buffer) => (out += d.toString()));
  proc.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => proc.once("exit", (code) => resolve({ code, lines: out.split("\n").filter((l) => l !== ""), stderr })));
}

const dataDir = mkdtempSync(join(tmpdir(), "ng-wal-fail-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe("WAL commit failure", () => {
  it("fails every pending write with the commit's error, turns the logs read-only, and loses nothing acknowledged", async () => {
    const node = `${JSON.stringify(process.execPath)} --import tsx ${JSON.stringify(fixture)}`;
    const limited = await run("bash", ["-c", `trap '' XFSZ; ulimit -f 3072; exec ${node} fill ${JSON.stringify(dataDir)} ${SEED} ${SHARDS} ${MAX_BATCH}`]);
    expect(limited.code, limited.stderr).toBe(0);
    const acked = limited.lines.filter((l) => l.startsWith("A ")).map((l) => l.split(" ").map(Number) as [number, number, number]);
    const failed = limited.lines.filter((l) => l.startsWith("F "));
    expect(acked.length).toBeGreaterThan(0);
    expect(failed.length).toBeGreaterThan(0);
    for (const f of failed) {
      const detail = JSON.parse(f.split(" ").slice(3).join(" ")) as { code: string; message: string };
      expect(detail.code).toBe("UNAVAILABLE");
      expect(detail.message).toMatch(/^WAL commit failed: .*The log is read-only until the node restarts/);
    }
    // Per shard, acknowledged LSNs form a prefix and failures come after them.
    for (let s = 0; s < SHARDS; s++) {
      const acks = acked.filter((a) => a[1] === s).map((a) => a[2]);
      const fails = failed.map((l) => l.split(" ").map(Number)).filter((f) => f[1] === s).map((f) => f[2]!);
      expect(acks).toEqual(Array.from({ length: acks.length }, (_, i) => i + 1));
      if (fails.length > 0) expect(Math.min(...fails)).toBeGreaterThan(acks.length);
    }
    const sync = limited.lines.find((l) => l.startsWith("SYNC "));
    expect(sync).toMatch(/^SYNC \{"code":"UNAVAILABLE","message":"WAL commit failed/);
    const stats = JSON.parse(limited.lines.find((l) => l.startsWith("STATS "))!.slice(6)) as ShardLogStats[];
    expect(stats.map((s) => s.degraded)).toEqual([expect.stringMatching(/^WAL commit failed/), expect.stringMatching(/^WAL commit failed/)]);
    expect(stats.map((s) => s.pendingBytes)).toEqual([0, 0]);

    const restarted = await run(process.execPath, ["--import", "tsx", fixture, "verify", dataDir, String(SHARDS)]);
    expect(restarted.code, restarted.stderr).toBe(0);
    const reports = JSON.parse(restarted.lines.find((l) => l.startsWith("READY "))!.slice(6)) as { lastLsn: number; digest: string; warnings: string[] }[];
    reports.forEach((r, s) => {
      const acks = acked.filter((a) => a[1] === s).length;
      expect(r.warnings).toEqual([]);
      expect(r.lastLsn).toBeGreaterThanOrEqual(acks);
      const model = new ModelShard();
      for (let k = 1; k <= r.lastLsn; k++) model.apply(generateMutation(SEED, s, SHARDS, k, MAX_BATCH), k);
      expect(r.digest).toBe(model.digest());
    });
  });
});
