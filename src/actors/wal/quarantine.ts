/**
 * Moving damaged or unreachable WAL entries aside (docs/wal.md §5.3): before recovery deletes
 * anything from the log, the raw entries are written, fsynced, to
 * `<dataDir>/wal-quarantine/<time>/shard-<n>/<file>.bin` and listed in `report.json` next to
 * them. Nothing leaves the log without a copy on disk and a line in a report.
 *
 * `.bin` framing, little-endian, per entry: u64 LSN, u32 part (0xFFFFFFFF for a log record,
 * else the snapshot part: 0 manifest, i + 1 chunk i), u32 length, then the raw stored bytes.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, writeSync } from "node:fs";
import { join } from "node:path";
import { checkRecord, recordTypeName } from "../../core/wal/index.ts";

export const LOG_PART = 0xffffffff;

export interface QuarantinedEntry {
  readonly lsn: number;
  readonly part: number;
  readonly value: Uint8Array;
}

export interface QuarantineListing {
  readonly file: string;
  readonly entries: readonly {
    readonly lsn: number;
    readonly part?: number;
    readonly offset: number;
    readonly bytes: number;
    readonly intact: boolean;
    readonly type?: string;
    readonly problem?: string;
  }[];
}

export interface QuarantineReport {
  readonly shard: number;
  readonly createdAt: string;
  readonly reason: string;
  readonly keptUpToLsn: number;
  readonly files: readonly QuarantineListing[];
}

/** One quarantine directory per recovery session (shared by the shards that need it). */
export function quarantineSessionDir(root: string, now = new Date()): string {
  return join(root, now.toISOString().replace(/:/g, "-"));
}

export class QuarantineWriter {
  readonly dir: string;
  private readonly files: QuarantineListing[] = [];

  constructor(sessionDir: string, readonly shard: number) {
    this.dir = join(sessionDir, `shard-${shard}`);
    mkdirSync(this.dir, { recursive: true });
  }

  /** Writes the entries to `<name>.bin` and fsyncs it. */
  write(name: string, entries: Iterable<QuarantinedEntry>): number {
    const file = `${name}.bin`;
    const fd = openSync(join(this.dir, file), "w");
    const listed: QuarantineListing["entries"][number][] = [];
    let offset = 0;
    try {
      const head = Buffer.alloc(16);
      for (const e of entries) {
        head.writeUInt32LE(e.lsn % 0x1_0000_0000, 0);
        head.writeUInt32LE(Math.floor(e.lsn / 0x1_0000_0000), 4);
        head.writeUInt32LE(e.part, 8);
        head.writeUInt32LE(e.value.length, 12);
        writeSync(fd, head);
        writeSync(fd, e.value);
        const check = checkRecord(e.value);
        listed.push({
          lsn: e.lsn,
          ...(e.part === LOG_PART ? {} : { part: e.part }),
          offset,
          bytes: e.value.length,
          intact: check.ok,
          ...(check.header === undefined ? {} : { type: recordTypeName(check.header.type) }),
          ...(check.ok ? {} : { problem: check.detail }),
        });
        offset += 16 + e.value.length;
      }
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.files.push({ file, entries: listed });
    return listed.length;
  }

  /** Writes `report.json`, fsyncs the directory, and returns the report. */
  finish(reason: string, keptUpToLsn: number): QuarantineReport {
    const report: QuarantineReport = { shard: this.shard, createdAt: new Date().toISOString(), reason, keptUpToLsn, files: this.files };
    const fd = openSync(join(this.dir, "report.json"), "w");
    try {
      writeSync(fd, `${JSON.stringify(report, null, 2)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    const dfd = openSync(this.dir, "r");
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
    return report;
  }
}
