/**
 * The write-ahead log commands.
 * - `neurograph wal inspect <dir>`: lists every record and snapshot of a data directory's WAL per
 *   shard (LSN, type, payload size, item count), verifies every CRC, and prints a summary. Exits
 *   non-zero when anything is damaged (bad CRC, missing LSN, unreadable snapshot). Read-only, so it
 *   is safe on the data directory of a running node.
 * - `neurograph wal stats` (client): each shard's log figures on a running node.
 * - `neurograph snapshot [shard…]` (client): snapshot now and prune the logs behind it.
 */
import type { Command } from "commander";
import { DataLossError, ValidationError } from "../../core/errors.ts";
import { inspectWal, type InspectReport, type InspectedShard } from "../../actors/wal/inspect.ts";
import { formatNumber, table } from "./format.ts";
import { ExitCode, clientCommand, exitWith, toJson, withClient } from "./shared.ts";

interface InspectFlags {
  readonly shard?: string;
  readonly summary?: boolean;
  readonly json?: boolean;
}

export function registerWalCommands(program: Command): void {
  const wal = program.command("wal").description("inspect the write-ahead log of a data directory");
  wal
    .command("inspect")
    .argument("<dir>", "the node's data directory (or its wal/ directory)")
    .description("list WAL records and snapshots per shard and verify every CRC; exits 1 on damage")
    .option("--shard <n>", "only this shard")
    .option("--summary", "one summary per shard, no record listing")
    .option("--json", "print the report as JSON")
    .action(async (dir: string, flags: InspectFlags) => {
      const shard = flags.shard === undefined ? undefined : parseShard(flags.shard);
      const report = await inspectWal(dir, { ...(shard === undefined ? {} : { shard }), records: flags.summary !== true });
      process.stdout.write(flags.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
      if (report.problems > 0) {
        const first = report.shards.flatMap((s) => s.problems.map((p) => `shard ${s.shard}: ${p}`));
        throw new DataLossError(
          `WAL check failed: ${report.problems} problem(s), first: ${first[0] ?? ""}. ` +
            `A node refuses to start on damage before the tail; \`neurograph serve --repair\` keeps everything before it.`,
        );
      }
    });

  const stats = clientCommand(wal, "stats", "each shard's write-ahead log on a running node: LSNs, pending bytes, last commit, last snapshot");
  stats.action(async () => {
    await withClient(stats, async (ctx) => {
      const list = await ctx.client.listShards();
      if (ctx.json) return ctx.out(toJson(list.map((s) => ({ shard: s.shard, state: s.state, wal: s.wal ?? null }))));
      if (list.every((s) => s.wal === undefined)) return ctx.out("this node runs without a write-ahead log (--no-wal): nothing is durable");
      const rows = list.map((s) => {
        const w = s.wal;
        if (w === undefined) return [s.shard, s.state, "-", "-", "-", "-", "-", "no log"];
        const snap = w.lastSnapshotLsn === 0 ? "none" : `LSN ${w.lastSnapshotLsn} at ${new Date(w.lastSnapshotUnixMs).toISOString()}`;
        return [s.shard, s.state, w.lastLsn, w.durableLsn, formatBytes(w.pendingBytes), `${w.lastCommitMs.toFixed(2)} ms`, snap, w.degraded === "" ? "ok" : `READ-ONLY: ${w.degraded}`];
      });
      ctx.out(table(["shard", "state", "last LSN", "durable LSN", "pending", "last commit", "last snapshot", "log"], rows));
    });
  });
}

/** `neurograph snapshot [shard…]`. */
export function registerSnapshotCommand(program: Command): void {
  const cmd = clientCommand(program, "snapshot [shards...]", "write a snapshot of the given shards (default: all) now and prune their logs behind it");
  cmd.action(async (shards: readonly string[] | undefined) => {
    await withClient(cmd, async (ctx) => {
      const done = await ctx.client.snapshot(parseShards(shards ?? []));
      if (ctx.json) return ctx.out(toJson(done));
      const rows = done.map((d) => [d.shard, d.lsn, d.unchanged ? "unchanged (nothing logged since the last one)" : `${d.chunks} chunk(s), ${formatBytes(d.bytes)}`, `${formatNumber(d.durationMs)} ms`]);
      ctx.out(table(["shard", "LSN", "written", "took"], rows));
    });
  });
}

function parseShards(values: readonly string[]): number[] {
  const bad = values.filter((v) => !/^\d{1,9}$/.test(v));
  if (bad.length > 0) exitWith(ExitCode.Usage, `shards are numbers 0, 1, …; got: ${bad.join(" ")}`);
  return values.map(Number);
}

function parseShard(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) {
    throw ValidationError.of("arguments", [{ field: "--shard", value: v, rule: "shard", description: "must be a shard number (0, 1, …)" }]);
  }
  return n;
}

export function formatReport(report: InspectReport): string {
  const out: string[] = [`WAL ${report.walDir}: ${report.shardCount} shard(s)`];
  let records = 0;
  let bytes = 0;
  for (const s of report.shards) {
    out.push(...formatShard(s));
    records += s.recordCount;
    bytes += s.logBytes;
  }
  out.push(`total: ${records} log record(s), ${formatBytes(bytes)}, ${report.problems === 0 ? "all CRCs verified, no problems" : `${report.problems} PROBLEM(S)`}`);
  return `${out.join("\n")}\n`;
}

function formatShard(s: InspectedShard): string[] {
  const out = [`shard ${s.shard}`];
  if (s.snapshots.length === 0) out.push("  no snapshot");
  for (const snap of s.snapshots) {
    const m = snap.manifest;
    const what =
      m === undefined
        ? `${snap.chunks} chunk(s)`
        : `${m.tokenBytes / 64} tokens, ${m.connectionBytes / 64} connections${m.hasConstitution ? `, constitution ${m.constitutionBytes} B` : ""}, ` +
          `${snap.chunks} chunk(s), taken ${new Date(m.createdAtMs).toISOString()}`;
    out.push(`  snapshot LSN ${snap.lsn}: ${what}: ${snap.problem ?? "ok"}`);
  }
  if (s.records !== undefined && s.records.length > 0) {
    out.push(`  ${"LSN".padStart(10)}  ${"type".padEnd(18)} ${"payload".padStart(10)} ${"items".padStart(8)}  status`);
    for (const r of s.records) {
      out.push(`  ${String(r.lsn).padStart(10)}  ${r.type.padEnd(18)} ${String(r.payloadBytes).padStart(10)} ${String(r.items).padStart(8)}  ${r.problem === undefined ? "ok" : `DAMAGED: ${r.problem}`}`);
    }
  }
  const range = s.firstLsn === undefined ? "empty log" : `LSN ${s.firstLsn}..${s.lastLsn}`;
  out.push(`  summary: ${s.recordCount} record(s) (${range}), ${s.items} item(s), ${formatBytes(s.logBytes)}, ${s.problems.length} problem(s)`);
  for (const p of s.problems) out.push(`  ! ${p}`);
  return out;
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
