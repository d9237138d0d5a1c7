/**
 * The graph shard's side of the field engine (not an actor: helpers of `GraphShardActor`).
 * `fieldSnapshot` copies what one force step needs out of the store in bulk (token columns and
 * the owned connections as columns); `applyFieldPositions` moves tokens from a `field.result`
 * payload, on the live path (`applyFieldMessage`) and on replay (`replayFieldResult`) alike;
 * `relogFieldState` keeps the engine's state in the log past a snapshot, which does not hold it.
 */
import { decodeFieldResult, encodeFieldResult, type FieldResultPayload } from "../core/field/result-codec.ts";
import type { ShardStore } from "../core/store/index.ts";
import type { ShardJournal } from "./shard-journal.ts";
import type { FieldSnapshotReply } from "./shard-protocol.ts";

export function fieldSnapshot(store: ShardStore, lsn: number, state: Uint8Array | undefined): FieldSnapshotReply {
  const cols = store.columns;
  const n = cols.size;
  const conns = store.connections;
  let m = 0;
  store.forEachOwnedConnection(() => m++);
  const source = new Uint32Array(m);
  const target = new Uint32Array(m);
  const rigidity = new Float32Array(m);
  const confidence = new Float32Array(m);
  const pull = new Float32Array(m);
  const preferredDistance = new Float32Array(m);
  const activeSpaces = new Uint8Array(m);
  let k = 0;
  store.forEachOwnedConnection((e) => {
    source[k] = conns.sources[e]!;
    target[k] = conns.targets[e]!;
    rigidity[k] = conns.rigidity[e]!;
    confidence[k] = conns.confidence[e]!;
    pull[k] = conns.pullStrength[e]!;
    preferredDistance[k] = conns.preferredDistance[e]!;
    activeSpaces[k] = conns.activeSpaces[e]!;
    k++;
  });
  return {
    lsn,
    count: n,
    ids: cols.ids.slice(0, n),
    positions: cols.coords.slice(0, n * 24),
    flags: cols.flags.slice(0, n),
    radii: cols.radii.slice(0, n),
    strengths: cols.strengths.slice(0, n),
    springs: { count: m, source, target, rigidity, confidence, pull, preferredDistance, activeSpaces },
    ...(state === undefined ? {} : { state }),
  };
}

/** Moves the tokens of a decoded payload; returns the ids it moved (for the spatial index). */
export function applyFieldPositions(store: ShardStore, payload: FieldResultPayload): Uint32Array | undefined {
  const p = payload.positions;
  if (p === undefined) return undefined;
  store.setCoords(p.ids, p.coords, p.spaceMask);
  return p.ids;
}

/** Decodes and applies a logged `field.result` payload (replay). */
export function replayFieldResult(store: ShardStore, bytes: Uint8Array): { ids: Uint32Array | undefined; state: Uint8Array | undefined } {
  const payload = decodeFieldResult(bytes);
  return { ids: applyFieldPositions(store, payload), state: payload.state };
}

/** What a live `shard.field-apply` changed. */
export interface FieldApplied {
  /** Ids of the tokens it moved (for the spatial index). */
  readonly moved: Uint32Array | undefined;
  /** The engine's new persisted state, if the payload carries one. */
  readonly state: Uint8Array | undefined;
}

/**
 * A `shard.field-apply`: applies and logs an encoded field result unless a write came in since
 * the engine's snapshot (the applied LSN moved) or a transaction holds the shard (`fenced`): the
 * engine then reloads, so a user's write always wins. Undefined when nothing was applied.
 */
export function applyFieldMessage(store: ShardStore, journal: ShardJournal, bytes: Uint8Array, expectLsn: number, fenced: boolean): FieldApplied | undefined {
  const lsn = journal.wait.appliedLsn;
  if (fenced || (expectLsn >= 0 && lsn !== expectLsn)) return undefined;
  const payload = decodeFieldResult(bytes);
  journal.ensureWritable(bytes.byteLength);
  const moved = applyFieldPositions(store, payload);
  journal.append({ kind: "field.result", payload: bytes });
  return { moved, state: payload.state };
}

/** After a snapshot started (`started`): logs the engine's state again, past the snapshot's LSN. */
export function relogFieldState(journal: ShardJournal, state: Uint8Array | undefined, started: boolean): void {
  if (!started || state === undefined) return;
  journal.append({ kind: "field.result", payload: encodeFieldResult({ state }) }, false);
}
