/** A node's WAL without the graph shards: an actor system, `startWal`, and a model per shard. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AppendTicket, ShardMutation } from "../../src/actors/shard-log.ts";
import { startWal, type NodeWal, type WalOptions, type WalRecoveryReport } from "../../src/actors/wal/index.ts";
import { ActorSystem } from "../../src/runtime/index.ts";
import { ModelShard } from "./wal-model.ts";

export function tempDataDir(prefix = "ng-wal-"): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export class WalHarness {
  private constructor(
    readonly system: ActorSystem,
    readonly wal: NodeWal,
    readonly models: ModelShard[],
    readonly reports: WalRecoveryReport[],
  ) {}

  /** Starts the WAL on `dataDir` and recovers every shard into a fresh model. */
  static async open(dataDir: string, options: Partial<WalOptions> = {}, makeModel: () => ModelShard = () => new ModelShard()): Promise<WalHarness> {
    const system = new ActorSystem({ onFatal: () => {} });
    let wal: NodeWal;
    try {
      wal = startWal(system, { dataDir, shardCount: 2, ...options });
    } catch (err) {
      await system.shutdown({ force: true });
      throw err;
    }
    const models = wal.logs.map(() => makeModel());
    try {
      const reports = await Promise.all(wal.logs.map((log, i) => log.recover(models[i]!)));
      return new WalHarness(system, wal, models, reports);
    } catch (err) {
      await wal.close();
      await system.shutdown({ force: true });
      throw err;
    }
  }

  /** Appends to shard `s` and applies to its model, as a shard actor does. */
  append(s: number, m: ShardMutation): AppendTicket {
    const ticket = this.wal.logs[s]!.append(m);
    this.models[s]!.apply(m, ticket.lsn);
    return ticket;
  }

  private closing: Promise<void> | undefined;

  /** Flushes and closes the WAL and the actor system (idempotent). */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.wal.close();
      await this.system.shutdown({ force: true });
    })();
    return this.closing;
  }
}

export function tokens(ids: readonly number[], fill = 0): Uint8Array {
  const out = new Uint8Array(ids.length * 64).fill(fill);
  const dv = new DataView(out.buffer);
  ids.forEach((id, i) => dv.setUint32(i * 64 + 48, id, true));
  return out;
}

export function range(from: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => from + i);
}
