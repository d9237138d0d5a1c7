/**
 * Codecs of the graph shard protocol (`shard-protocol.ts`) for the NATS transport: every ask a
 * coordinator sends to a shard on another node, and its reply, as the protobuf messages of
 * `proto/neurograph/v1/shard.proto`. Typed arrays travel as raw little-endian bytes (one copy
 * each way); decoding checks lengths and enum ranges and rejects what does not fit with a
 * `ValidationError` (the transport turns it into INVALID_ARGUMENT for the sender).
 */
import type { Direction, Expansion } from "../core/graph/expansion.ts";
import {
  ShardAbortReply,
  ShardAbortRequest,
  ShardCommitRequest,
  ShardConnectionsReply,
  ShardConnectionsRequest,
  ShardEdgeAuditReply,
  ShardEdgeAuditRequest,
  ShardExpandReply,
  ShardExpandRequest,
  ShardGetReply,
  ShardGetRequest,
  ShardMirrorRepairReply,
  ShardMirrorRepairRequest,
  ShardOpKind,
  ShardPrepareReply,
  ShardPrepareRequest,
  ShardSpatialReply,
  ShardSpatialRequest,
  ShardUnlinkDanglingRequest,
  ShardWriteReply,
  ShardWriteRequest,
  type ShardOpMessage,
} from "../gen/neurograph/v1/shard.ts";
import type { MessageCodec } from "../runtime/index.ts";
import { shardLearnCodec } from "./shard-learn-codec.ts";
import type {
  ConnectionsReply,
  GetReply,
  MirrorRepairReply,
  PrepareReply,
  ShardOp,
  SpatialReply,
  TypeFilter,
  WriteReply,
} from "./shard-protocol.ts";
import { EMPTY, bytesOf, codec, f32, f64, i16, invalid, keyColumnsOut, keysIn, records, u32, u8, violationsIn, violationsOut } from "./shard-wire.ts";


function direction(d: number): Direction {
  if (d !== 0 && d !== 1 && d !== 2) throw invalid("direction", `direction must be 0, 1 or 2, got ${d}`);
  return d;
}

function typeFilter(types: Uint8Array, has: boolean): TypeFilter {
  if (!has) return null;
  if (types.byteLength !== 32) throw invalid("types", `a type set is 32 bytes, got ${types.byteLength}`);
  return types;
}

// ---- operations ---------------------------------------------------------------------------------

function opOut(op: ShardOp): ShardOpMessage {
  const base = { kind: ShardOpKind.SHARD_OP_KIND_UNSPECIFIED, records: EMPTY, checked: false, ids: EMPTY, sources: EMPTY, targets: EMPTY, types: EMPTY };
  switch (op.kind) {
    case "insert":
      return { ...base, kind: ShardOpKind.SHARD_OP_KIND_INSERT, records: bytesOf(op.records), checked: op.checked === true };
    case "update":
      return { ...base, kind: ShardOpKind.SHARD_OP_KIND_UPDATE, records: bytesOf(op.records) };
    case "delete":
      return { ...base, kind: ShardOpKind.SHARD_OP_KIND_DELETE, ids: bytesOf(op.ids) };
    case "connect":
      return { ...base, kind: ShardOpKind.SHARD_OP_KIND_CONNECT, records: bytesOf(op.records) };
    case "disconnect":
    case "unlink":
      return {
        ...base,
        kind: op.kind === "disconnect" ? ShardOpKind.SHARD_OP_KIND_DISCONNECT : ShardOpKind.SHARD_OP_KIND_UNLINK,
        sources: bytesOf(op.keys.sources),
        targets: bytesOf(op.keys.targets),
        types: bytesOf(op.keys.types),
      };
  }
}

function opIn(m: ShardOpMessage | undefined): ShardOp {
  if (m === undefined) throw invalid("op", "the operation is missing");
  switch (m.kind) {
    case ShardOpKind.SHARD_OP_KIND_INSERT:
      return m.checked ? { kind: "insert", records: records(m.records, "records"), checked: true } : { kind: "insert", records: records(m.records, "records") };
    case ShardOpKind.SHARD_OP_KIND_UPDATE:
      return { kind: "update", records: records(m.records, "records") };
    case ShardOpKind.SHARD_OP_KIND_DELETE:
      return { kind: "delete", ids: u32(m.ids, "ids") };
    case ShardOpKind.SHARD_OP_KIND_CONNECT:
      return { kind: "connect", records: records(m.records, "records") };
    case ShardOpKind.SHARD_OP_KIND_DISCONNECT:
      return { kind: "disconnect", keys: keysIn(m, (b) => i16(b, "types")) };
    case ShardOpKind.SHARD_OP_KIND_UNLINK:
      return { kind: "unlink", keys: keysIn(m, u8) };
    default:
      throw invalid("op.kind", `unknown operation kind ${String(m.kind)}`);
  }
}

// ---- replies ------------------------------------------------------------------------------------

function writeReplyOut(r: WriteReply): Uint8Array {
  return ShardWriteReply.encode({
    applied: r.applied,
    accepted: bytesOf(r.accepted),
    violations: violationsOut(r.violations),
    ids: bytesOf(r.ids),
    hasIds: r.ids !== undefined,
    connectionsRemoved: r.connectionsRemoved,
    unlinkAtSource: keyColumnsOut(r.unlinkAtSource),
    unlinkAtTarget: keyColumnsOut(r.unlinkAtTarget),
  }).finish();
}

function writeReplyIn(b: Uint8Array): WriteReply {
  const m = ShardWriteReply.decode(b);
  return {
    applied: m.applied,
    accepted: u8(m.accepted),
    violations: violationsIn(m.violations),
    ...(m.hasIds ? { ids: u32(m.ids, "ids") } : {}),
    connectionsRemoved: m.connectionsRemoved,
    ...(m.unlinkAtSource === undefined ? {} : { unlinkAtSource: keysIn(m.unlinkAtSource, u8) }),
    ...(m.unlinkAtTarget === undefined ? {} : { unlinkAtTarget: keysIn(m.unlinkAtTarget, u8) }),
  };
}

// ---- the codecs ---------------------------------------------------------------------------------

/** Codecs of every ask of the shard protocol; register them on each node of a cluster. */
export function shardCodecs(): MessageCodec[] {
  return [
    codec<"shard.write", WriteReply>(
      "shard.write",
      (m) => ShardWriteRequest.encode({ op: opOut(m.op), partial: m.partial }).finish(),
      (b) => {
        const m = ShardWriteRequest.decode(b);
        return { type: "shard.write", op: opIn(m.op), partial: m.partial };
      },
      writeReplyOut,
      writeReplyIn,
    ),
    codec<"shard.prepare", PrepareReply>(
      "shard.prepare",
      (m) => ShardPrepareRequest.encode({ txn: m.txn, op: opOut(m.op), partial: m.partial, expiresAt: m.expiresAt }).finish(),
      (b) => {
        const m = ShardPrepareRequest.decode(b);
        return { type: "shard.prepare", txn: m.txn, op: opIn(m.op), partial: m.partial, expiresAt: m.expiresAt };
      },
      (r) => ShardPrepareReply.encode({ violations: violationsOut(r.violations), invalid: bytesOf(r.invalid), fenced: r.fenced }).finish(),
      (b) => {
        const m = ShardPrepareReply.decode(b);
        return { violations: violationsIn(m.violations), invalid: u8(m.invalid), fenced: m.fenced };
      },
    ),
    codec<"shard.commit", WriteReply>(
      "shard.commit",
      (m) => ShardCommitRequest.encode({ txn: m.txn, keep: bytesOf(m.keep ?? undefined), hasKeep: m.keep !== null, release: m.release }).finish(),
      (b) => {
        const m = ShardCommitRequest.decode(b);
        return { type: "shard.commit", txn: m.txn, keep: m.hasKeep ? u8(m.keep) : null, release: m.release };
      },
      writeReplyOut,
      writeReplyIn,
    ),
    codec<"shard.abort", boolean>(
      "shard.abort",
      (m) => ShardAbortRequest.encode({ txn: m.txn }).finish(),
      (b) => ({ type: "shard.abort", txn: ShardAbortRequest.decode(b).txn }),
      (r) => ShardAbortReply.encode({ released: r }).finish(),
      (b) => ShardAbortReply.decode(b).released,
    ),
    codec<"shard.get", GetReply>(
      "shard.get",
      (m) => ShardGetRequest.encode({ ids: bytesOf(m.ids) }).finish(),
      (b) => ({ type: "shard.get", ids: u32(ShardGetRequest.decode(b).ids, "ids") }),
      (r) => ShardGetReply.encode({ records: bytesOf(r.records), found: bytesOf(r.found), count: r.count }).finish(),
      (b) => {
        const m = ShardGetReply.decode(b);
        return { records: records(m.records, "records"), found: u8(m.found), count: m.count };
      },
    ),
    codec<"shard.expand", Expansion>(
      "shard.expand",
      (m) =>
        ShardExpandRequest.encode({ nodes: bytesOf(m.nodes), direction: m.direction, types: bytesOf(m.types ?? undefined), hasTypes: m.types !== null, skipFlags: m.skipFlags }).finish(),
      (b) => {
        const m = ShardExpandRequest.decode(b);
        return { type: "shard.expand", nodes: u32(m.nodes, "nodes"), direction: direction(m.direction), types: typeFilter(m.types, m.hasTypes), skipFlags: m.skipFlags };
      },
      (r) =>
        ShardExpandReply.encode({
          offsets: bytesOf(r.offsets),
          neighbors: bytesOf(r.neighbors),
          weights: bytesOf(r.weights),
          types: bytesOf(r.types),
          outgoing: bytesOf(r.outgoing),
          exists: bytesOf(r.exists),
        }).finish(),
      (b) => {
        const m = ShardExpandReply.decode(b);
        return {
          offsets: u32(m.offsets, "offsets"),
          neighbors: u32(m.neighbors, "neighbors"),
          weights: f32(m.weights, "weights"),
          types: u8(m.types),
          outgoing: u8(m.outgoing),
          exists: u8(m.exists),
        };
      },
    ),
    codec<"shard.connections", ConnectionsReply>(
      "shard.connections",
      (m) =>
        ShardConnectionsRequest.encode({ ids: bytesOf(m.ids), direction: m.direction, types: bytesOf(m.types ?? undefined), hasTypes: m.types !== null, limit: m.limit }).finish(),
      (b) => {
        const m = ShardConnectionsRequest.decode(b);
        return { type: "shard.connections", ids: u32(m.ids, "ids"), direction: direction(m.direction), types: typeFilter(m.types, m.hasTypes), limit: m.limit };
      },
      (r) => ShardConnectionsReply.encode({ records: bytesOf(r.records), counts: bytesOf(r.counts), found: bytesOf(r.found), truncated: r.truncated }).finish(),
      (b) => {
        const m = ShardConnectionsReply.decode(b);
        return { records: records(m.records, "records"), counts: u32(m.counts, "counts"), found: u8(m.found), truncated: m.truncated };
      },
    ),
    codec<"shard.spatial", SpatialReply>(
      "shard.spatial",
      (m) => {
        const q = m.query;
        return ShardSpatialRequest.encode({
          mode: q.mode === "within" ? 0 : 1,
          space: q.space,
          x: q.point[0],
          y: q.point[1],
          z: q.point[2],
          radius: q.radius,
          limit: q.limit,
          exclude: q.exclude,
          withRecords: q.withRecords,
        }).finish();
      },
      (b) => {
        const m = ShardSpatialRequest.decode(b);
        if (m.mode > 1) throw invalid("mode", `spatial mode must be 0 (within) or 1 (nearest), got ${m.mode}`);
        return {
          type: "shard.spatial",
          query: { mode: m.mode === 0 ? "within" : "nearest", space: m.space, point: [m.x, m.y, m.z], radius: m.radius, limit: m.limit, exclude: m.exclude, withRecords: m.withRecords },
        };
      },
      (r) => ShardSpatialReply.encode({ ids: bytesOf(r.ids), distances: bytesOf(r.distances), more: r.more, records: bytesOf(r.records), hasRecords: r.records !== undefined }).finish(),
      (b) => {
        const m = ShardSpatialReply.decode(b);
        return { ids: u32(m.ids, "ids"), distances: f64(m.distances, "distances"), more: m.more, ...(m.hasRecords ? { records: records(m.records, "records") } : {}) };
      },
    ),
    shardLearnCodec(),
    // Edge reconciliation of a shard taken over in cluster mode (router-repair.ts).
    codec<"shard.edge-audit", Uint8Array>(
      "shard.edge-audit",
      (m) => ShardEdgeAuditRequest.encode({ targetShard: m.targetShard }).finish(),
      (b) => ({ type: "shard.edge-audit", targetShard: ShardEdgeAuditRequest.decode(b).targetShard }),
      (r) => ShardEdgeAuditReply.encode({ records: bytesOf(r) }).finish(),
      (b) => records(ShardEdgeAuditReply.decode(b).records, "records"),
    ),
    codec<"shard.mirror-repair", MirrorRepairReply>(
      "shard.mirror-repair",
      (m) => ShardMirrorRepairRequest.encode({ owned: bytesOf(m.owned), hasFromShard: m.fromShard !== undefined, fromShard: m.fromShard ?? 0 }).finish(),
      (b) => {
        const m = ShardMirrorRepairRequest.decode(b);
        return { type: "shard.mirror-repair", owned: records(m.owned, "owned"), ...(m.hasFromShard ? { fromShard: m.fromShard } : {}) };
      },
      (r) => ShardMirrorRepairReply.encode({ mirrorsAdded: r.mirrorsAdded, mirrorsUpdated: r.mirrorsUpdated, mirrorsRemoved: r.mirrorsRemoved, dangling: keyColumnsOut(r.dangling) }).finish(),
      (b) => {
        const m = ShardMirrorRepairReply.decode(b);
        const dangling = m.dangling === undefined ? { sources: new Uint32Array(0), targets: new Uint32Array(0), types: new Uint8Array(0) } : keysIn(m.dangling, u8);
        return { mirrorsAdded: m.mirrorsAdded, mirrorsUpdated: m.mirrorsUpdated, mirrorsRemoved: m.mirrorsRemoved, dangling };
      },
    ),
    codec<"shard.unlink-dangling", WriteReply>(
      "shard.unlink-dangling",
      (m) => ShardUnlinkDanglingRequest.encode({ keys: keyColumnsOut(m.keys) }).finish(),
      (b) => {
        const m = ShardUnlinkDanglingRequest.decode(b);
        if (m.keys === undefined) throw invalid("keys", "missing");
        return { type: "shard.unlink-dangling", keys: keysIn(m.keys, u8) };
      },
      writeReplyOut,
      writeReplyIn,
    ),
  ];
}
