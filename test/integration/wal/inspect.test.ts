import { Command } from "commander";
import { open } from "lmdb";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { DataLossError } from "../../../src/core/errors.ts";
import { inspectWal } from "../../../src/actors/wal/inspect.ts";
import { registerWalCommands } from "../../../src/cli/commands/wal.ts";
import { WalHarness, range, tempDataDir, tokens } from "../../support/wal-harness.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function sampleWal(): Promise<string> {
  const d = tempDataDir();
  cleanups.push(d.remove);
  const h = await WalHarness.open(d.dir);
  for (let k = 1; k <= 4; k++) await h.append(0, { kind: "tokens.insert", records: tokens(range(k * 10, k)) }).durable;
  await h.wal.logs[0]!.snapshot(h.models[0]!.snapshotData());
  await h.append(0, { kind: "tokens.delete", ids: Uint32Array.of(10, 20) }).durable;
  await h.append(0, { kind: "connections.remove", sources: Uint32Array.of(1), targets: Uint32Array.of(2), types: Uint8Array.of(3) }).durable;
  await h.append(1, { kind: "constitution.set", document: new Uint8Array(33) }).durable;
  await h.wal.env.committer.whenIdle();
  await h.close();
  return d.dir;
}

async function runCli(args: string[]): Promise<{ out: string; error: unknown }> {
  let out = "";
  vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  const program = new Command("neurograph").exitOverride();
  registerWalCommands(program);
  let error: unknown;
  try {
    await program.parseAsync(args, { from: "user" });
  } catch (err) {
    error = err;
  }
  vi.restoreAllMocks();
  return { out, error };
}

describe("neurograph wal inspect", () => {
  it("lists snapshots and records per shard with types, sizes and item counts, and verifies every CRC", async () => {
    const dir = await sampleWal();
    const { out, error } = await runCli(["wal", "inspect", dir]);
    expect(error).toBeUndefined();
    expect(out).toMatch(/^WAL .*\/wal: 2 shard\(s\)\nshard 0\n {2}snapshot LSN 4: 10 tokens, 0 connections, 1 chunk\(s\), taken .*: ok\n/);
    expect(out).toMatch(/\n\s+5 {2}tokens\.delete\s+10\s+2 {2}ok\n\s+6 {2}connections\.remove\s+\d+\s+1 {2}ok\n/);
    expect(out).toMatch(/summary: 2 record\(s\) \(LSN 5\.\.6\), 3 item\(s\), .*, 0 problem\(s\)/);
    expect(out).toMatch(/shard 1\n {2}no snapshot\n.*\n\s+1 {2}constitution\.set\s+35\s+1 {2}ok\n/);
    expect(out).toMatch(/total: 3 log record\(s\), .*, all CRCs verified, no problems\n$/);
    const json = await runCli(["wal", "inspect", join(dir, "wal"), "--json", "--summary", "--shard", "1"]);
    const parsed = JSON.parse(json.out) as { shards: Record<string, unknown>[] };
    expect(parsed).toMatchObject({ shardCount: 2, problems: 0, shards: [{ shard: 1, recordCount: 1, lastLsn: 1 }] });
    expect("records" in parsed.shards[0]!).toBe(false);
  });

  it("reports every damaged record and gap, and fails with DATA_LOSS", async () => {
    const dir = await sampleWal();
    const raw = open({ path: join(dir, "wal"), maxDbs: 8 });
    const log = raw.openDB<Uint8Array, number>({ name: "log.0", encoding: "binary" });
    const rec = Uint8Array.from(log.getBinary(5)!);
    rec[rec.length - 1]! ^= 0x80;
    log.putSync(5, rec);
    const log1 = raw.openDB<Uint8Array, number>({ name: "log.1", encoding: "binary" });
    log1.putSync(3, log1.getBinary(1)!);
    await raw.close();

    const { out, error } = await runCli(["wal", "inspect", dir]);
    expect(error).toBeInstanceOf(DataLossError);
    expect((error as DataLossError).message).toMatch(/^WAL check failed: 3 problem\(s\), first: shard 0: log: LSN 5: CRC32C mismatch/);
    expect(out).toMatch(/\n\s+5 {2}tokens\.delete\s+10\s+0 {2}DAMAGED: CRC32C mismatch/);
    expect(out).toMatch(/! log: LSN 2 missing\n/);
    expect(out).toMatch(/! log: LSN 3: record says LSN 1 but is stored under LSN 3\n/);
    const report = await inspectWal(dir, { records: false });
    expect(report.shards.map((s) => s.problems.length)).toEqual([1, 2]);
  });

  it("says what to pass when the directory holds no WAL", async () => {
    const d = tempDataDir();
    cleanups.push(d.remove);
    const { error } = await runCli(["wal", "inspect", d.dir]);
    expect((error as Error).message).toMatch(/no WAL found in .*; pass the node's data directory/);
  });
});
