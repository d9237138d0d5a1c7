/**
 * The codec of `shard.learn` (governed learning and maintenance, `LearnOp` / `LearnReply` of
 * `shard-protocol.ts`) for shards on other nodes: activation and feedback on remote connections,
 * the learning sweep, cleanup plans and hypothesis pair checks all work in cluster mode.
 */
import {
  ShardLearnKind,
  ShardLearnReply,
  ShardLearnRequest,
  type ShardCleanupPolicy,
} from "../gen/neurograph/v1/shard.ts";
import type { CleanupPolicy } from "./guardian/index.ts";
import type { LearnOp, LearnReply } from "./shard-protocol.ts";
import { EMPTY, bytesOf, codec, i16, invalid, keyColumnsOut, keysIn, u32, u8, violationsIn, violationsOut } from "./shard-wire.ts";
import type { MessageCodec } from "../runtime/index.ts";

const NO_POLICY: ShardCleanupPolicy = { weakHypothesisConfidence: 0, inactiveTokenAgeSeconds: 0, nowSeconds: 0, maxConnections: 0, maxTokens: 0 };

function learnOut(op: LearnOp): Uint8Array {
  const base = { sources: EMPTY, targets: EMPTY, types: EMPTY, success: EMPTY, strict: false, granted: false, feedback: false, policy: undefined };
  const keys = (k: { sources: Uint32Array; targets: Uint32Array; types: Int16Array }): { sources: Buffer; targets: Buffer; types: Buffer } => ({
    sources: bytesOf(k.sources),
    targets: bytesOf(k.targets),
    types: bytesOf(k.types),
  });
  switch (op.kind) {
    case "activate":
      return ShardLearnRequest.encode({ ...base, kind: ShardLearnKind.SHARD_LEARN_KIND_ACTIVATE, ...keys(op.keys), strict: op.strict }).finish();
    case "feedback":
      return ShardLearnRequest.encode({
        ...base,
        kind: ShardLearnKind.SHARD_LEARN_KIND_FEEDBACK,
        ...keys(op.keys),
        success: bytesOf(op.success),
        strict: op.strict,
        granted: op.granted,
      }).finish();
    case "check":
      return ShardLearnRequest.encode({ ...base, kind: ShardLearnKind.SHARD_LEARN_KIND_CHECK, ...keys(op.keys), feedback: op.feedback }).finish();
    case "sweep":
      return ShardLearnRequest.encode({ ...base, kind: ShardLearnKind.SHARD_LEARN_KIND_SWEEP }).finish();
    case "cleanup-plan": {
      const p = op.policy;
      const policy: ShardCleanupPolicy = {
        weakHypothesisConfidence: p.weakHypothesisConfidence,
        inactiveTokenAgeSeconds: p.inactiveTokenAgeSeconds,
        nowSeconds: p.nowSeconds,
        maxConnections: p.maxConnections,
        maxTokens: p.maxTokens,
      };
      return ShardLearnRequest.encode({ ...base, kind: ShardLearnKind.SHARD_LEARN_KIND_CLEANUP_PLAN, policy }).finish();
    }
    case "pairs":
      return ShardLearnRequest.encode({ ...base, kind: ShardLearnKind.SHARD_LEARN_KIND_PAIRS, sources: bytesOf(op.sources), targets: bytesOf(op.targets) }).finish();
  }
}

function learnIn(b: Uint8Array): LearnOp {
  const m = ShardLearnRequest.decode(b);
  const keys = (): { sources: Uint32Array; targets: Uint32Array; types: Int16Array } => keysIn(m, (t) => i16(t, "types"));
  switch (m.kind) {
    case ShardLearnKind.SHARD_LEARN_KIND_ACTIVATE:
      return { kind: "activate", keys: keys(), strict: m.strict };
    case ShardLearnKind.SHARD_LEARN_KIND_FEEDBACK: {
      const k = keys();
      if (m.success.byteLength !== k.sources.length) throw invalid("success", `${m.success.byteLength} outcomes for ${k.sources.length} keys`);
      return { kind: "feedback", keys: k, success: u8(m.success), strict: m.strict, granted: m.granted };
    }
    case ShardLearnKind.SHARD_LEARN_KIND_CHECK:
      return { kind: "check", keys: keys(), feedback: m.feedback };
    case ShardLearnKind.SHARD_LEARN_KIND_SWEEP:
      return { kind: "sweep" };
    case ShardLearnKind.SHARD_LEARN_KIND_CLEANUP_PLAN: {
      const p = m.policy ?? NO_POLICY;
      const policy: CleanupPolicy = {
        weakHypothesisConfidence: p.weakHypothesisConfidence,
        inactiveTokenAgeSeconds: p.inactiveTokenAgeSeconds,
        nowSeconds: p.nowSeconds,
        maxConnections: p.maxConnections,
        maxTokens: p.maxTokens,
      };
      return { kind: "cleanup-plan", policy };
    }
    case ShardLearnKind.SHARD_LEARN_KIND_PAIRS: {
      const sources = u32(m.sources, "sources");
      const targets = u32(m.targets, "targets");
      if (targets.length !== sources.length) throw invalid("targets", `${targets.length} targets for ${sources.length} sources`);
      return { kind: "pairs", sources, targets };
    }
    default:
      throw invalid("kind", `unknown learning operation kind ${String(m.kind)}`);
  }
}

function learnReplyOut(r: LearnReply): Uint8Array {
  return ShardLearnReply.encode({
    applied: r.applied,
    accepted: bytesOf(r.accepted),
    violations: violationsOut(r.violations),
    edges: r.edges,
    promoted: r.promoted,
    deleted: r.deleted,
    decayed: r.decayed,
    tokens: bytesOf(r.tokens),
    hasTokens: r.tokens !== undefined,
    unlinkAtTarget: keyColumnsOut(r.unlinkAtTarget),
    refreshAtTarget: bytesOf(r.refreshAtTarget),
    hasRefreshAtTarget: r.refreshAtTarget !== undefined,
    plan:
      r.plan === undefined
        ? undefined
        : {
            connections: { sources: bytesOf(r.plan.connections.sources), targets: bytesOf(r.plan.connections.targets), types: bytesOf(r.plan.connections.types) },
            tokens: bytesOf(r.plan.tokens),
          },
    invalid: bytesOf(r.invalid),
    hasInvalid: r.invalid !== undefined,
  }).finish();
}

function learnReplyIn(b: Uint8Array): LearnReply {
  const m = ShardLearnReply.decode(b);
  let plan: LearnReply["plan"];
  if (m.plan !== undefined) {
    const c = m.plan.connections === undefined ? { sources: new Uint32Array(0), targets: new Uint32Array(0), types: new Uint8Array(0) } : keysIn(m.plan.connections, u8);
    plan = { connections: { count: c.sources.length, ...c }, tokens: u32(m.plan.tokens, "plan.tokens") };
  }
  return {
    applied: m.applied,
    accepted: u8(m.accepted),
    violations: violationsIn(m.violations),
    edges: m.edges,
    promoted: m.promoted,
    deleted: m.deleted,
    decayed: m.decayed,
    ...(m.hasTokens ? { tokens: u32(m.tokens, "tokens") } : {}),
    ...(m.unlinkAtTarget === undefined ? {} : { unlinkAtTarget: keysIn(m.unlinkAtTarget, u8) }),
    ...(m.hasRefreshAtTarget ? { refreshAtTarget: u8(m.refreshAtTarget) } : {}),
    ...(plan === undefined ? {} : { plan }),
    ...(m.hasInvalid ? { invalid: u8(m.invalid) } : {}),
  };
}

/** The codec of `shard.learn`, registered with the other shard codecs (`shardCodecs()`). */
export function shardLearnCodec(): MessageCodec {
  return codec<"shard.learn", LearnReply>("shard.learn", (m) => learnOut(m.op), (b) => ({ type: "shard.learn", op: learnIn(b) }), learnReplyOut, learnReplyIn);
}
