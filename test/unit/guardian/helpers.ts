/** Shared helpers of the guardian tests (not a test file). */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Mutability, connectionFields, encodeConnection, type ConnectionFields } from "../../../src/core/connection/index.ts";
import { ShardStore } from "../../../src/core/store/index.ts";
import { encodeToken, tokenFields, type TokenFields } from "../../../src/core/token/index.ts";
import type { Constitution } from "../../../src/core/constitution/index.ts";
import {
  GuardianActor,
  GuardianHub,
  MemoryConstitutionLog,
  type GuardianEnv,
  type GuardianMessage,
  type ShardMaintenance,
} from "../../../src/actors/guardian/index.ts";
import { ActorSystem, ManualClock, type ActorRef, type SpawnOptions } from "../../../src/runtime/index.ts";
import { BlackBox } from "../../../src/telemetry/index.ts";

export const NOW_MS = 1_700_000_000_000;
export const NOW_S = NOW_MS / 1000;

/** Packed token records for `ids` (all ACTIVE, weight 0.5, timestamp `ts`). */
export function tokenRecords(ids: readonly number[], ts = NOW_S, overrides: Partial<TokenFields> = {}): Uint8Array {
  const out = new Uint8Array(ids.length * 64);
  ids.forEach((id, i) => encodeToken(tokenFields(id, ts, { weight: 0.5, ...overrides }), out, i));
  return out;
}

/** Packed connection records. */
export function edgeRecords(edges: readonly (readonly [number, number, number, Partial<ConnectionFields>?])[], now = NOW_S): Uint8Array {
  const out = new Uint8Array(edges.length * 64);
  edges.forEach(([s, t, y, o], i) => encodeConnection(connectionFields(s, t, y, now, o ?? {}), out, i));
  return out;
}

/** A one-shard store with tokens 1..n. */
export function storeWithTokens(n: number, options: { shard?: number; shardCount?: number } = {}): ShardStore {
  const store = new ShardStore({ shard: options.shard ?? 0, shardCount: options.shardCount ?? 1 });
  const ids = Array.from({ length: n }, (_, i) => i + 1);
  store.insertRecords(tokenRecords(ids));
  return store;
}

export const HYPOTHESIS: Partial<ConnectionFields> = { mutability: Mutability.Hypothesis };

export interface GuardianFixture {
  readonly system: ActorSystem;
  readonly clock: ManualClock;
  readonly hub: GuardianHub;
  readonly log: MemoryConstitutionLog;
  readonly ref: ActorRef<GuardianMessage>;
  readonly blackBox: BlackBox;
  /** Times the RSS probe was called. */
  readonly probes: { count: number; rss: number };
}

const systems: ActorSystem[] = [];

/** Starts a guardian on a ManualClock (stop them all with `stopGuardians`). */
export async function startGuardian(
  options: {
    log?: MemoryConstitutionLog;
    initial?: Constitution;
    maintenance?: ShardMaintenance;
    rss?: number;
    env?: Partial<GuardianEnv>;
    clock?: ManualClock;
    shardCount?: number;
    spawn?: SpawnOptions;
  } = {},
): Promise<GuardianFixture> {
  const clock = options.clock ?? new ManualClock(NOW_MS);
  const system = new ActorSystem({ clock, onFatal: () => undefined });
  systems.push(system);
  const blackBox = new BlackBox({ dataDir: mkdtempSync(join(tmpdir(), "ng-guardian-")), clock: () => clock.now() });
  const hub = new GuardianHub({ shardCount: options.shardCount ?? 1, blackBox, now: () => clock.now(), ...(options.initial === undefined ? {} : { initial: options.initial }) });
  const log = options.log ?? new MemoryConstitutionLog();
  const probes = { count: 0, rss: options.rss ?? 100_000_000 };
  const env: GuardianEnv = {
    hub,
    log,
    rssProbe: () => {
      probes.count++;
      return probes.rss;
    },
    ...(options.maintenance === undefined ? {} : { maintenance: options.maintenance }),
    ...options.env,
  };
  const ref = system.spawn<GuardianMessage>("guardian/local", () => new GuardianActor(env), options.spawn);
  await system.started(ref);
  return { system, clock, hub, log, ref, blackBox, probes };
}

export async function stopGuardians(): Promise<void> {
  for (const s of systems.splice(0)) await s.shutdown({ force: true });
}

/** Lets queued turns and immediates run. */
export async function flush(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}
