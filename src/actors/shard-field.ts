/**
 * The graph shard's side of the field engine (not an actor: helpers of `GraphShardActor`).
 * `fieldSnapshot` copies what one force step needs out of the store in bulk (token columns and
 * the owned connections as columns); `applyFieldResult` moves tokens from a `field.result`
 * payload, on the live path and on replay alike.
 */
import { decodeFieldResult, type FieldResultPayload } from "../core/field/result-codec.ts";
import type { ShardStore } from "../core/store/index.ts";
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
