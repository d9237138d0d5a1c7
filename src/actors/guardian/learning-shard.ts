/**
 * The shard side of governed learning: functions a graph shard runs in its own turn, on its own
 * store, with the guardian's shared budget and its local compiled constitution. Each returns
 * what changed so the shard can log it (`connections.upsert` for `records`,
 * `connections.remove` for `removed`, and unlink the mirrors of removed connections whose target
 * is on another shard).
 *
 * Keys address the connections whose source this shard owns; type −1 means every connection
 * from source to target.
 */
import type { CompiledConstitution } from "../../core/constitution/index.ts";
import { CONNECTION_FLAGS, CONNECTION_RECORD_SIZE, Mutability, type ConnectionProposal } from "../../core/connection/index.ts";
import { NeuroGraphError, type FieldViolation } from "../../core/errors.ts";
import type { EdgeKeys, ShardStore } from "../../core/store/index.ts";
import { LearningRule, lifecycleThresholds, mutationRateText } from "./learning.ts";
import type { GuardianStats } from "./stats.ts";

export interface LearningKeys {
  readonly sources: Uint32Array;
  readonly targets: Uint32Array;
  /** Connection type per key, or −1 for every type from source to target. */
  readonly types: Int16Array;
}

/** The grants learning draws on (`MutationBudget`, or a view of it whose grants were taken before). */
export interface LearningBudget {
  take(n: number, nowMs: number): number;
  takeAll(n: number, nowMs: number): boolean;
}

export interface LearningContext {
  readonly constitution: CompiledConstitution;
  readonly budget: LearningBudget;
  readonly stats?: GuardianStats;
  readonly nowMs: number;
}

export interface LearningResult {
  /** Keys applied. */
  readonly applied: number;
  /** 1 per applied key. */
  readonly accepted: Uint8Array;
  readonly violations: readonly FieldViolation[];
  /** Records of the connections changed (after the change), to log as `connections.upsert`. */
  readonly records: Uint8Array;
  /** Connections removed by lifecycle deletions, to log as `connections.remove`. */
  readonly removed: EdgeKeys;
  readonly promoted: number;
}

export interface ActivationResult extends LearningResult {
  /** Endpoints of the activated connections (input to co-activation tracking). */
  readonly tokens: Uint32Array;
}

/** A growable list of (item, edge) pairs on typed arrays. */
class EdgeList {
  items = new Uint32Array(16);
  edges = new Int32Array(16);
  n = 0;
  push(item: number, e: number): void {
    if (this.n === this.items.length) {
      const items = new Uint32Array(this.n * 2);
      items.set(this.items);
      const edges = new Int32Array(this.n * 2);
      edges.set(this.edges);
      this.items = items;
      this.edges = edges;
    }
    this.items[this.n] = item;
    this.edges[this.n++] = e;
  }
}

interface Resolved {
  readonly list: EdgeList;
  /** first[i]..first[i+1]-1 are item i's entries in `list`. */
  readonly first: Uint32Array;
  readonly violations: FieldViolation[];
  readonly invalid: Uint8Array;
}

/**
 * Finds the owned, modifiable connections of every key. A key whose connections are all
 * Immutable is refused (`immutable`) when `learnableOnly`.
 */
function resolveKeys(store: ShardStore, keys: LearningKeys, learnableOnly: boolean): Resolved {
  const n = keys.sources.length;
  const list = new EdgeList();
  const first = new Uint32Array(n + 1);
  const violations: FieldViolation[] = [];
  const invalid = new Uint8Array(n);
  const cols = store.connections;
  const reject = (i: number, field: string, value: string, rule: string, description: string): void => {
    invalid[i] = 1;
    violations.push({ index: i, field, value, rule, description });
  };
  for (let i = 0; i < n; i++) {
    first[i] = list.n;
    const s = keys.sources[i]!;
    const t = keys.targets[i]!;
    const y = keys.types[i]!;
    const key = y >= 0 ? `${s} → ${t} type ${y}` : `${s} → ${t}`;
    if (s === 0 || t === 0) {
      reject(i, s === 0 ? "source" : "target", "0", LearningRule.idNonzero, "token ids are never 0");
      continue;
    }
    if (!store.owns(s)) {
      reject(i, "source", String(s), LearningRule.notOwned, `connection ${key} is owned by shard ${s % store.shardCount}, not ${store.shard}`);
      continue;
    }
    let found = 0;
    let immutable = 0;
    const consider = (e: number): void => {
      found++;
      if (learnableOnly && cols.mutability[e] === Mutability.Immutable) immutable++;
      else list.push(i, e);
    };
    if (y >= 0) {
      const e = store.connectionIndex(s, t, y);
      if (e >= 0 && !store.isMirror(e)) consider(e);
    } else {
      for (let e = store.firstOutEdge(s); e >= 0; e = store.nextOutEdge(e)) if (cols.targets[e] === t) consider(e);
    }
    if (found === 0) reject(i, "key", key, LearningRule.notFound, `connection ${key} does not exist`);
    else if (found === immutable) reject(i, "mutability", "IMMUTABLE", LearningRule.immutable, `connection ${key} is Immutable; only Learnable and Hypothesis connections learn`);
  }
  first[n] = list.n;
  return { list, first, violations, invalid };
}

/**
 * What `applyActivations` / `applyFeedback` would refuse, without changing anything, and how many
 * connections (grants) the accepted keys touch: the first phase of a strict batch spanning shards.
 */
export function checkLearningKeys(store: ShardStore, keys: LearningKeys, feedback: boolean): { readonly violations: readonly FieldViolation[]; readonly edges: number } {
  const r = resolveKeys(store, keys, feedback);
  return { violations: r.violations, edges: r.list.n };
}

function emptyKeys(): EdgeKeys {
  return { count: 0, sources: new Uint32Array(0), targets: new Uint32Array(0), types: new Uint8Array(0) };
}

/** Records of the (distinct) edges, read after the change; edges removed meanwhile are left out. */
function recordsOf(store: ShardStore, keys: KeyLists): Uint8Array {
  const got = store.getConnectionRecords(keys.s, keys.t, keys.y);
  if (got.count === keys.s.length) return got.records;
  const out = new Uint8Array(got.count * CONNECTION_RECORD_SIZE);
  for (let i = 0, j = 0; i < keys.s.length; i++) {
    if (got.found[i] === 0) continue;
    out.set(got.records.subarray(i * CONNECTION_RECORD_SIZE, (i + 1) * CONNECTION_RECORD_SIZE), j++ * CONNECTION_RECORD_SIZE);
  }
  return out;
}

/** Distinct edge ids of a list, ascending. */
function distinctEdges(list: EdgeList, take: (k: number) => boolean): Int32Array {
  const tmp = new Int32Array(list.n);
  let m = 0;
  for (let k = 0; k < list.n; k++) if (take(k)) tmp[m++] = list.edges[k]!;
  const sorted = tmp.subarray(0, m).sort();
  let d = 0;
  for (let i = 0; i < m; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) sorted[d++] = sorted[i]!;
  return sorted.subarray(0, d);
}

/**
 * Records uses of connections (activation count, last activation, REINFORCED for Learnable).
 * Activations are usage, not learning changes: they do not draw on the mutation budget, but
 * their endpoints feed co-activation tracking. Strict: any bad key rejects the whole batch.
 */
export function applyActivations(store: ShardStore, keys: LearningKeys, nowMs: number, strict: boolean): ActivationResult {
  const n = keys.sources.length;
  const r = resolveKeys(store, keys, false);
  const accepted = new Uint8Array(n);
  if (strict && r.violations.length > 0) {
    return { applied: 0, accepted, violations: r.violations, records: new Uint8Array(0), removed: emptyKeys(), promoted: 0, tokens: new Uint32Array(0) };
  }
  const now = Math.floor(nowMs / 1000);
  const cols = store.connections;
  let applied = 0;
  for (let i = 0; i < n; i++) {
    if (r.invalid[i] !== 0) continue;
    accepted[i] = 1;
    applied++;
  }
  const edges = distinctEdges(r.list, () => true);
  const changed = keyLists();
  const tokens = new Uint32Array(edges.length * 2);
  for (let k = 0; k < edges.length; k++) {
    const e = edges[k]!;
    const s = cols.sources[e]!;
    const t = cols.targets[e]!;
    const y = cols.types[e]!;
    store.activateConnection(s, t, y, now);
    changed.s.push(s);
    changed.t.push(t);
    changed.y.push(y);
    tokens[2 * k] = s;
    tokens[2 * k + 1] = t;
  }
  return { applied, accepted, violations: r.violations, records: recordsOf(store, changed), removed: emptyKeys(), promoted: 0, tokens };
}

/** The lifecycle proposal for owned Hypothesis entry `e` under the constitution's learning rules. */
export function lifecycleProposalAt(store: ShardStore, e: number, c: CompiledConstitution): ConnectionProposal | undefined {
  const cols = store.connections;
  if (cols.mutability[e] !== Mutability.Hypothesis || !store.isConnectionLive(e) || store.isMirror(e)) return undefined;
  const l = c.learning;
  const evidence = cols.evidenceCount[e]!;
  const successes = cols.successCount[e]!;
  const successRate = evidence === 0 ? 0 : successes / evidence;
  const base = { source: cols.sources[e]!, target: cols.targets[e]!, type: cols.types[e]!, evidence, successes, successRate, confidence: cols.confidence[e]! };
  if (evidence >= l.promotionMinEvidence && successRate >= l.promotionMinSuccessRate) return { kind: "promote", ...base, learningRate: l.promotedLearningRate };
  if (evidence >= l.deletionMinEvidence && successRate <= l.deletionMaxSuccessRate) return { kind: "delete", ...base, reason: "low_success_rate" };
  if ((cols.flags[e]! & CONNECTION_FLAGS.DECAYING) !== 0 && cols.confidence[e]! < l.hypothesisMinConfidence) return { kind: "delete", ...base, reason: "decayed" };
  return undefined;
}

type KeyLists = { s: number[]; t: number[]; y: number[] };

interface LifecycleOutcome {
  readonly promoted: KeyLists;
  readonly removed: KeyLists;
}

function keyLists(): KeyLists {
  return { s: [], t: [], y: [] };
}

/** Governs and applies the lifecycle proposals of `edges` (one budget grant each). */
function runLifecycle(store: ShardStore, edges: Int32Array, ctx: LearningContext, out: LifecycleOutcome): void {
  const now = Math.floor(ctx.nowMs / 1000);
  for (const e of edges) {
    const p = lifecycleProposalAt(store, e, ctx.constitution);
    if (p === undefined) continue;
    if (ctx.budget.take(1, ctx.nowMs) === 0) {
      ctx.stats?.proposalRejected(LearningRule.mutationRate);
      continue;
    }
    try {
      store.applyProposal(p, now, lifecycleThresholds(ctx.constitution.learning, p.kind));
    } catch (err) {
      if (!(err instanceof NeuroGraphError)) throw err;
      ctx.stats?.proposalRejected(LearningRule.proposalApplicable);
      continue;
    }
    ctx.stats?.proposalApplied(p.kind);
    const list = p.kind === "promote" ? out.promoted : out.removed;
    list.s.push(p.source);
    list.t.push(p.target);
    list.y.push(p.type);
  }
}

function toEdgeKeys(k: KeyLists): EdgeKeys {
  return { count: k.s.length, sources: Uint32Array.from(k.s), targets: Uint32Array.from(k.t), types: Uint8Array.from(k.y) };
}

/**
 * Success/failure feedback: each connection's confidence change is a proposal drawing one grant
 * from the mutation budget (strict: all or nothing; otherwise keys beyond the budget are refused
 * with `mutation_rate`). Afterwards every touched Hypothesis is checked for promotion or
 * deletion, each of which is a further governed proposal.
 */
export function applyFeedback(store: ShardStore, keys: LearningKeys, success: Uint8Array, ctx: LearningContext, strict: boolean): LearningResult {
  const n = keys.sources.length;
  const r = resolveKeys(store, keys, true);
  const accepted = new Uint8Array(n);
  const violations = r.violations;
  const none = (): LearningResult => ({ applied: 0, accepted, violations, records: new Uint8Array(0), removed: emptyKeys(), promoted: 0 });
  if (strict && violations.length > 0) return none();
  const { budget, nowMs, constitution } = ctx;
  if (strict) {
    if (!budget.takeAll(r.list.n, nowMs)) {
      ctx.stats?.proposalRejected(LearningRule.mutationRate, r.list.n);
      for (let i = 0; i < n; i++) violations.push({ index: i, field: "proposal", value: "confidence", rule: LearningRule.mutationRate, description: mutationRateText(constitution) });
      return none();
    }
    accepted.fill(1);
  } else {
    for (let i = 0; i < n; i++) {
      if (r.invalid[i] !== 0) continue;
      const edges = r.first[i + 1]! - r.first[i]!;
      if (budget.takeAll(edges, nowMs)) accepted[i] = 1;
      else {
        ctx.stats?.proposalRejected(LearningRule.mutationRate, edges);
        violations.push({ index: i, field: "proposal", value: "confidence", rule: LearningRule.mutationRate, description: mutationRateText(constitution) });
      }
    }
  }
  const now = Math.floor(nowMs / 1000);
  const cols = store.connections;
  let applied = 0;
  let changes = 0;
  const list = r.list;
  for (let k = 0; k < list.n; k++) {
    const i = list.items[k]!;
    if (accepted[i] === 0) continue;
    const e = list.edges[k]!;
    store.recordFeedback(cols.sources[e]!, cols.targets[e]!, cols.types[e]!, success[i] !== 0, now);
    changes++;
  }
  for (let i = 0; i < n; i++) applied += accepted[i]!;
  ctx.stats?.proposalApplied("confidence", changes);
  const touched = distinctEdges(list, (k) => accepted[list.items[k]!] !== 0);
  const changed = keyLists();
  for (const e of touched) {
    changed.s.push(cols.sources[e]!);
    changed.t.push(cols.targets[e]!);
    changed.y.push(cols.types[e]!);
  }
  const out: LifecycleOutcome = { promoted: keyLists(), removed: keyLists() };
  runLifecycle(store, touched, ctx, out);
  return { applied, accepted, violations, records: recordsOf(store, changed), removed: toEdgeKeys(out.removed), promoted: out.promoted.s.length };
}

export interface SweepResult {
  /** Hypotheses whose confidence decayed. */
  readonly decayed: number;
  readonly promoted: number;
  /** Records of promoted connections, to log as `connections.upsert`. */
  readonly records: Uint8Array;
  /** Deleted connections, to log as `connections.remove` (unlink remote mirrors). */
  readonly removed: EdgeKeys;
}

/**
 * Periodic lifecycle pass over the shard: settles time-based decay, then governs and applies
 * the promotion/deletion proposals of every owned Hypothesis (including "decayed below
 * `hypothesis_min_confidence`"). Decay itself is a deterministic function of time and needs no
 * logging; promotions and deletions do.
 */
export function sweepLifecycle(store: ShardStore, ctx: LearningContext): SweepResult {
  const decayed = store.decayConnections(Math.floor(ctx.nowMs / 1000));
  const cols = store.connections;
  const hyp: number[] = [];
  for (let e = 0; e < cols.size; e++) if (cols.mutability[e] === Mutability.Hypothesis && store.isConnectionLive(e) && !store.isMirror(e)) hyp.push(e);
  const out: LifecycleOutcome = { promoted: keyLists(), removed: keyLists() };
  runLifecycle(store, Int32Array.from(hyp), ctx, out);
  return { decayed, promoted: out.promoted.s.length, records: recordsOf(store, out.promoted), removed: toEdgeKeys(out.removed) };
}

/**
 * Marks hypothesis records (a → b, `a` owned here) whose tokens are connected already, in either
 * direction and of any type (out-edges of a to b, in-edges of a from b, mirrors included), or
 * whose source does not exist here. Returns the violations; `invalid[i] = 1` for each.
 */
export function connectedPairs(store: ShardStore, sources: Uint32Array, targets: Uint32Array, invalid: Uint8Array): FieldViolation[] {
  const violations: FieldViolation[] = [];
  const cols = store.connections;
  for (let i = 0; i < sources.length; i++) {
    const a = sources[i]!;
    const b = targets[i]!;
    if (!store.has(a)) {
      invalid[i] = 1;
      violations.push({ index: i, field: "source", value: String(a), rule: LearningRule.notFound, description: `token ${a} does not exist` });
      continue;
    }
    let connected = false;
    for (let e = store.firstOutEdge(a); e >= 0 && !connected; e = store.nextOutEdge(e)) connected = cols.targets[e] === b;
    for (let e = store.firstInEdge(a); e >= 0 && !connected; e = store.nextInEdge(e)) connected = cols.sources[e] === b;
    if (connected) {
      invalid[i] = 1;
      violations.push({ index: i, field: "key", value: `${a} → ${b}`, rule: LearningRule.alreadyConnected, description: `tokens ${a} and ${b} are connected already; co-activation only proposes new connections` });
    }
  }
  return violations;
}
