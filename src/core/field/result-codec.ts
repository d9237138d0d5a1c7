/**
 * The payload of a `field.result` log record and the field engine's persistent state.
 *
 * A `field.result` record of a shard carries the positions of that shard's tokens at a
 * checkpoint (ids and the coordinates of the active spaces) and, in the log of the shard that
 * keeps the engine state (shard 0), the engine state: step count, tracked fields, hierarchy
 * state and a hierarchy plan that was decided but may not be fully applied yet. Replaying the
 * record moves the tokens (the store keeps positions); the shard keeps the latest state section
 * and carries it into its snapshots, so pruning the log never loses it.
 *
 * Layout (little-endian): magic "NGFR", version u8, sections u8 (bit 0 positions, bit 1 state),
 * 2 reserved bytes; positions: space mask u32, ids (u32 count + values), coords (u32 count +
 * int16 values, 3 per active space and id); state: u32 length + bytes.
 */
import { DataLossError } from "../errors.ts";
import { type Mutability } from "../connection/layout.ts";
import { ByteReader, ByteWriter } from "./bytes.ts";
import type { HierarchyPlan, HierarchyState, ParentCluster, ParentRecord, ParentTokenWrite } from "./hierarchy-types.ts";
import type { TrackedField } from "./tracking.ts";

const MAGIC = 0x5246474e; // "NGFR"
const VERSION = 1;
const STATE_VERSION = 1;

export interface FieldPositions {
  /** Spaces whose coordinates are listed (3 per space, ascending), per id. */
  readonly spaceMask: number;
  readonly ids: Uint32Array;
  readonly coords: Int16Array;
}

export interface FieldResultPayload {
  readonly positions?: FieldPositions;
  /** An encoded `FieldEngineState` (opaque to shards). */
  readonly state?: Uint8Array;
}

export function encodeFieldResult(p: FieldResultPayload): Uint8Array {
  const w = new ByteWriter();
  w.u32(MAGIC);
  w.u8(VERSION);
  w.u8((p.positions === undefined ? 0 : 1) | (p.state === undefined ? 0 : 2));
  w.u16(0);
  if (p.positions !== undefined) {
    w.u32(p.positions.spaceMask);
    w.u32s(p.positions.ids);
    w.i16s(p.positions.coords);
  }
  if (p.state !== undefined) w.bytes(p.state);
  return w.finish();
}

export function decodeFieldResult(bytes: Uint8Array): FieldResultPayload {
  const r = new ByteReader(bytes, "a field.result payload");
  if (r.u32("magic") !== MAGIC) throw new DataLossError("a field.result payload does not start with NGFR; the log is damaged");
  const version = r.u8("version");
  if (version !== VERSION) throw new DataLossError(`field.result payload version ${version} is not supported (this build reads ${VERSION}); upgrade neurograph`);
  const sections = r.u8("sections");
  r.u16("reserved");
  let positions: FieldPositions | undefined;
  if ((sections & 1) !== 0) {
    const spaceMask = r.u32("space mask");
    const ids = r.u32s("ids");
    const coords = r.i16s("coords");
    let spaces = 0;
    for (let s = 0; s < 8; s++) if ((spaceMask & (1 << s)) !== 0) spaces++;
    if (coords.length !== ids.length * spaces * 3) throw new DataLossError(`a field.result payload lists ${ids.length} ids but ${coords.length} coordinates; the log is damaged`);
    positions = { spaceMask, ids, coords };
  }
  const state = (sections & 2) !== 0 ? r.bytes("state") : undefined;
  return { ...(positions === undefined ? {} : { positions }), ...(state === undefined ? {} : { state }) };
}

/** What the field engine needs to continue exactly where it stopped. */
export interface FieldEngineState {
  /** Steps taken so far (the temperature schedule position). */
  readonly step: number;
  readonly nextFieldId: number;
  readonly fields: readonly TrackedField[];
  readonly hierarchy: HierarchyState;
  /** A plan decided with this state; written again on recovery until it is known to be applied. */
  readonly pendingPlan: HierarchyPlan | undefined;
}

function writeField(w: ByteWriter, f: TrackedField): void {
  w.u32(f.id);
  w.u32(f.age);
  w.u8(f.space);
  w.u8(f.level);
  w.f64(f.anchorKey);
  w.f64(f.radius);
  w.f64(f.density);
  for (let i = 0; i < 3; i++) w.f64(f.centroid[i]!);
  w.i16s(f.centroidRaw);
  w.u32s(f.members);
}

function readField(r: ByteReader): TrackedField {
  const id = r.u32("field id");
  const age = r.u32("field age");
  const space = r.u8("field space");
  const level = r.u8("field level");
  const anchorKey = r.f64("field anchor");
  const radius = r.f64("field radius");
  const density = r.f64("field density");
  const centroid = Float64Array.of(r.f64("centroid"), r.f64("centroid"), r.f64("centroid"));
  const centroidRaw = r.i16s("field centroid");
  const members = r.u32s("field members");
  return { id, age, space, level, anchorKey, radius, density, centroid, centroidRaw, members };
}

function writePlan(w: ByteWriter, plan: HierarchyPlan): void {
  w.u32(plan.createParents.length);
  for (const p of plan.createParents) {
    w.u32(p.id);
    w.u8(p.level);
    w.u8(p.entityType);
    w.u16(p.flags);
    w.i16s(p.coords);
    w.f64(p.weight);
    w.u8(p.radiusRaw);
    w.u8(p.strengthRaw);
  }
  w.u32s(plan.deactivateParents);
  w.u32s(plan.connect.source);
  w.u32s(plan.connect.target);
  w.u32s(plan.disconnect.source);
  w.u32s(plan.disconnect.target);
  const t = plan.partOf;
  w.u8(t.type);
  w.u16(t.flags);
  w.u8(t.mutability);
  w.u8(t.activeSpaces);
  w.f64(t.rigidity);
  w.f64(t.pull);
  w.f64(t.preferredDistance);
  w.f64(t.confidence);
}

function readPlan(r: ByteReader): HierarchyPlan {
  const creates: ParentTokenWrite[] = [];
  const n = r.u32("parent count");
  for (let i = 0; i < n; i++) {
    const id = r.u32("parent id");
    const level = r.u8("parent level");
    const entityType = r.u8("entity type");
    const flags = r.u16("parent flags");
    const coords = r.i16s("parent coords");
    const weight = r.f64("parent weight");
    const radiusRaw = r.u8("parent radius");
    const strengthRaw = r.u8("parent strength");
    creates.push({ id, level, entityType, flags, coords, weight, radiusRaw, strengthRaw });
  }
  const deactivateParents = r.u32s("deactivations");
  const connect = { source: r.u32s("connect sources"), target: r.u32s("connect targets") };
  const disconnect = { source: r.u32s("disconnect sources"), target: r.u32s("disconnect targets") };
  const type = r.u8("part-of type");
  const flags = r.u16("part-of flags");
  const mutability = r.u8("part-of mutability") as Mutability;
  const activeSpaces = r.u8("part-of spaces");
  const rigidity = r.f64("rigidity");
  const pull = r.f64("pull");
  const preferredDistance = r.f64("preferred distance");
  const confidence = r.f64("confidence");
  return {
    createParents: creates,
    deactivateParents,
    connect,
    disconnect,
    partOf: { type, flags, mutability, activeSpaces, rigidity, pull, preferredDistance, confidence },
  };
}

export function encodeFieldEngineState(s: FieldEngineState): Uint8Array {
  const w = new ByteWriter();
  w.u8(STATE_VERSION);
  w.f64(s.step);
  w.u32(s.nextFieldId);
  w.u32(s.fields.length);
  for (const f of s.fields) writeField(w, f);
  const h = s.hierarchy;
  w.u32(h.nextSeq);
  w.u32(h.nextClusterId);
  w.u32(h.parents.length);
  for (const p of h.parents) {
    w.u32(p.id);
    w.u8(p.level);
    w.u32s(p.sources);
    w.u32s(p.members);
    w.u32(p.leafCount);
    w.i16s(p.centroidRaw);
  }
  w.u32(h.clusters.length);
  for (const c of h.clusters) {
    w.u32(c.id);
    w.u8(c.level);
    w.u32(c.age);
    w.u32s(c.members);
  }
  w.u8(s.pendingPlan === undefined ? 0 : 1);
  if (s.pendingPlan !== undefined) writePlan(w, s.pendingPlan);
  return w.finish();
}

export function decodeFieldEngineState(bytes: Uint8Array): FieldEngineState {
  const r = new ByteReader(bytes, "the field engine state");
  const version = r.u8("version");
  if (version !== STATE_VERSION) throw new DataLossError(`field engine state version ${version} is not supported (this build reads ${STATE_VERSION}); upgrade neurograph`);
  const step = r.f64("step");
  const nextFieldId = r.u32("next field id");
  const fields: TrackedField[] = [];
  const nf = r.u32("field count");
  for (let i = 0; i < nf; i++) fields.push(readField(r));
  const nextSeq = r.u32("next parent sequence");
  const nextClusterId = r.u32("next cluster id");
  const parents: ParentRecord[] = [];
  const np = r.u32("parent count");
  for (let i = 0; i < np; i++) {
    const id = r.u32("parent id");
    const level = r.u8("parent level");
    const sources = Array.from(r.u32s("parent sources"));
    const members = r.u32s("parent members");
    const leafCount = r.u32("leaf count");
    const centroidRaw = r.i16s("parent centroid");
    parents.push({ id, level, sources, members, leafCount, centroidRaw });
  }
  const clusters: ParentCluster[] = [];
  const nc = r.u32("cluster count");
  for (let i = 0; i < nc; i++) {
    const id = r.u32("cluster id");
    const level = r.u8("cluster level");
    const age = r.u32("cluster age");
    clusters.push({ id, level, age, members: r.u32s("cluster members") });
  }
  const pendingPlan = r.u8("plan flag") === 1 ? readPlan(r) : undefined;
  return { step, nextFieldId, fields, hierarchy: { nextSeq, nextClusterId, parents, clusters }, pendingPlan };
}
