/**
 * Crash test (DESIGN §9): a child process ingests generated mutations into a real WAL and prints
 * every append once its `durable` promise resolved; the parent SIGKILLs it at seeded random
 * moments (during group commits, snapshots, pruning), restarts it, and checks that every
 * acknowledged mutation survived and that the recovered state is exactly the state after some
 * prefix of the log (byte-identical digest: no mutation half-applied).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { ModelShard, generateMutation } from "../support/wal-model.ts";

const here = dirname(fileURLToPath(import.meta.url));
const fixture = join(here, "fixtures", "wal-child.ts");
const root = join(here, "..", "..");

const SEED = 20261121;
const SHARDS = 3;
const MAX_BATCH = 60;
const ROUNDS = 20;

interface ShardReport {
  lastLsn: number;
  snapshotLsn: number;
  replayed: number;
  warnings: string[];
  digest: string;
}

interface Child {
  readonly proc: ChildProcess;
  readonly ready: Promise<ShardReport[]>;
  readonly exited: Promise<number | null>;
  acks(): number[][];
  lines(): string[];
}

function start(args: string[]): Child {
  const proc = spawn(process.execPath, ["--import", "tsx", fixture, ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  const lines: string[] = [];
  const acks: number[][] = Array.from({ length: SHARDS }, () => []);
  let partial = "";
  let resolveReady: (r: ShardReport[]) => void = () => {};
  let rejectReady: (e: Error) => void = () => {};
  const ready = new Promise<ShardReport[]>((res, rej) => {
    resolveReady = res;
    rejectReady = rej;
  });
  let stderr = "";
  proc.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  proc.stdout?.on("data", (d: Buffer) => {
    partial += d.toString();
    const parts = partial.split("\n");
    partial = parts.pop() ?? "";
    for (const line of parts) {
      lines.push(line);
      if (line.startsWith("A ")) {
        const [, s, lsn] = line.split(" ");
        acks[Number(s)]!.push(Number(lsn));
      } else if (line.startsWith("READY ")) {
        resolveReady(JSON.parse(line.slice(6)) as ShardReport[]);
      }
    }
  });
  const exited = new Promise<number | null>((res) =>
    proc.once("exit", (code) => {
      rejectReady(new Error(`child exited (${code}) before READY: ${lines.join("\n")}\n${stderr}`));
      res(code);
    }),
  );
  return { proc, ready, exited, acks: () => acks, lines: () => lines };
}

/** Deterministic delays from the seed (xorshift). */
function delays(seed: number, n: number): number[] {
  let x = seed;
  return Array.from({ length: n }, () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return 30 + (x % 400);
  });
}

const dataDir = mkdtempSync(join(tmpdir(), "ng-wal-crash-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe("WAL crash safety (SIGKILL during sustained ingest)", () => {
  it(`keeps every acknowledged mutation and never half-applies one, over ${ROUNDS} kills`, async () => {
    const expected = Array.from({ length: SHARDS }, () => new ModelShard());
    const maxAcked = new Array<number>(SHARDS).fill(0);
    let totalAcks = 0;
    let snapshotsSeen = 0;

    const check = (reports: ShardReport[], round: number): void => {
      reports.forEach((r, s) => {
        const model = expected[s]!;
        expect(r.warnings, `round ${round} shard ${s}`).toEqual([]);
        expect(r.lastLsn, `round ${round} shard ${s}: every acknowledged LSN survives`).toBeGreaterThanOrEqual(maxAcked[s]!);
        expect(r.lastLsn, `round ${round} shard ${s}: the log never shrinks`).toBeGreaterThanOrEqual(model.lastLsn);
        for (let k = model.lastLsn + 1; k <= r.lastLsn; k++) model.apply(generateMutation(SEED, s, SHARDS, k, MAX_BATCH), k);
        expect(r.digest, `round ${round} shard ${s}: state = exactly mutations 1..${r.lastLsn}`).toBe(model.digest());
        if (r.snapshotLsn > 0) snapshotsSeen++;
      });
    };

    for (const [round, delay] of delays(SEED, ROUNDS).entries()) {
      const child = start(["ingest", dataDir, String(SEED), String(SHARDS), String(MAX_BATCH)]);
      check(await child.ready, round);
      await new Promise((r) => setTimeout(r, delay));
      child.proc.kill("SIGKILL");
      await child.exited;
      expect(child.lines().filter((l) => !l.startsWith("A ") && !l.startsWith("READY ")), `round ${round}: no failures`).toEqual([]);
      child.acks().forEach((lsns, s) => {
        totalAcks += lsns.length;
        if (lsns.length > 0) maxAcked[s] = Math.max(maxAcked[s]!, ...lsns);
      });
    }
    const final = start(["verify", dataDir, String(SHARDS)]);
    check(await final.ready, ROUNDS);
    expect(await final.exited).toBe(0);
    expect(totalAcks).toBeGreaterThan(ROUNDS);
    expect(snapshotsSeen).toBeGreaterThan(0);
  });
});
