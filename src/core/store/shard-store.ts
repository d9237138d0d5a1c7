/**
 * The in-memory state of one graph shard: tokens (structure of arrays + id table) and
 * connections (arena + adjacency, with mirrors of remote-source in-edges). Batch-first: every
 * write validates the whole batch before changing anything (strict mode) or applies exactly the
 * valid items and reports the rest (non-strict). See index.ts for the API summary.
 */
import type { ConnectionProposal, LifecycleThresholds } from "../connection/learning.ts";
import {
  DEFAULT_LIFECYCLE,
  activate,
  decay,
  lifecycleProposal,
  promote,
  proposalViolation,
  recordFeedback,
} from "../connection/learning.ts";
import { EdgeState, NO_EDGE } from "../connection/arena.ts";
import type { ConnectionColumns } from "../connection/columns.ts";
import { CONNECTION_RECORD_SIZE } from "../connection/layout.ts";
import type { FieldViolation } from "../errors.ts";
import { FailedPreconditionError, NotFoundError, ValidationError } from "../errors.ts";
import type { Expansion, ExpandRequest } from "../graph/expansion.ts";
import type { ConnectionLimits } from "../limits.ts";
import { DEFAULT_CONNECTION_LIMITS } from "../limits.ts";
import { copySlotToRecord, encodeTokens } from "../token/batch.ts";
import type { TokenColumns } from "../token/columns.ts";
import { TOKEN_RECORD_SIZE } from "../token/layout.ts";
import { recordViews } from "../token/views.ts";
import { EdgeSet } from "./edges.ts";
import { gatherRecords } from "./gather.ts";
import { TokenTable } from "./token-table.ts";
import type { TokenStoreState } from "./token-writes.ts";
import { deleteTokens, insertTokens, updateTokens } from "./token-writes.ts";
import type {
  ConnectOptions,
  ConnectResult,
  ConnectionGetResult,
  DeleteResult,
  GetResult,
  InsertOptions,
  InsertResult,
  ShardStoreOptions,
  TokenState,
  TokenWriteOptions,
  WriteOptions,
  WriteResult,
} from "./types.ts";

export class ShardStore {
  readonly shard: number;
  readonly shardCount: number;
  readonly connectionLimits: ConnectionLimits;
  private readonly tokens: TokenTable;
  private readonly edges: EdgeSet;
  private readonly state: TokenStoreState;

  constructor(options: ShardStoreOptions = {}) {
    const shard = options.shard ?? 0;
    const shardCount = options.shardCount ?? 1;
    const bad: FieldViolation[] = [];
    if (!Number.isInteger(shardCount) || shardCount < 1 || shardCount > 0xffff) {
      bad.push({ field: "shardCount", value: String(shardCount), rule: "shard_count_range", description: "shardCount must be an integer in 1..65535" });
    }
    if (!Number.isInteger(shard) || shard < 0 || shard >= shardCount) {
      bad.push({ field: "shard", value: String(shard), rule: "shard_range", description: `shard must be an integer in 0..shardCount-1 (${shardCount - 1})` });
    }
    const cap = options.initialCapacity ?? 0;
    const ecap = options.initialConnectionCapacity ?? 0;
    if (!Number.isInteger(cap) || cap < 0 || !Number.isInteger(ecap) || ecap < 0) {
      bad.push({ field: "initialCapacity", value: `${cap}/${ecap}`, rule: "capacity_range", description: "capacities must be non-negative integers" });
    }
    if (bad.length > 0) throw ValidationError.of("shard store options", bad);
    this.shard = shard;
    this.shardCount = shardCount;
    this.connectionLimits = options.connectionLimits ?? DEFAULT_CONNECTION_LIMITS;
    this.tokens = new TokenTable(cap, shardCount, options.adoptTokens);
    this.edges = new EdgeSet(this.tokens, shard, shardCount, ecap);
    this.state = { tokens: this.tokens, edges: this.edges, shard, shardCount, maxLocalId: options.adoptTokens?.maxLocalId ?? 0 };
  }

  /** A store holding exactly a snapshot's records (structure is checked, values are trusted). */
  static fromSnapshot(tokens: Uint8Array, connections: Uint8Array, options: ShardStoreOptions = {}): ShardStore {
    const store = new ShardStore({
      ...options,
      initialCapacity: Math.max(options.initialCapacity ?? 0, tokens.byteLength / TOKEN_RECORD_SIZE),
      initialConnectionCapacity: Math.max(options.initialConnectionCapacity ?? 0, connections.byteLength / CONNECTION_RECORD_SIZE),
    });
    store.insertRecords(tokens, { allocateIds: false });
    store.connectRecords(connections, { limits: null });
    return store;
  }

  /**
   * The token arrays themselves (not copies), to move to another thread and adopt there
   * (`ShardStoreOptions.adoptTokens`); this store must not be used once they were transferred.
   */
  exportTokenState(): TokenState {
    return { columns: this.tokens.cols, idEntries: this.tokens.table.entries, maxLocalId: this.state.maxLocalId };
  }

  // ---- sizes -------------------------------------------------------------------------------

  /** Live tokens. */
  get size(): number {
    return this.tokens.size;
  }

  /** Token slots allocated. */
  get capacity(): number {
    return this.tokens.capacity;
  }

  /** Live connections, mirrors included. */
  get connectionCount(): number {
    return this.edges.arena.count;
  }

  /**
   * Makes room for `capacity` tokens (never below the current size): grow ahead of a known bulk
   * load, or shrink after one. Growth otherwise doubles, so a grown store can hold up to twice
   * the memory its tokens need (untouched pages are not resident, but byteSize counts them).
   */
  reserve(capacity: number): void {
    if (!Number.isInteger(capacity) || capacity < 0) {
      throw ValidationError.of("reserve", [{ field: "capacity", value: String(capacity), rule: "capacity_range", description: "capacity must be a non-negative integer" }]);
    }
    if (capacity === this.tokens.capacity) return;
    this.tokens.resize(capacity);
    this.edges.tokenCapacityChanged();
  }

  /** Shrinks token memory to exactly the live tokens (see `reserve`). */
  trimToSize(): void {
    this.reserve(this.tokens.size);
  }

  /** Exact sum of the byteLength of every typed array the store owns. */
  byteSize(): number {
    return this.tokens.byteSize() + this.edges.byteSize();
  }

  /**
   * Token columns, slots 0..size-1 (read-only by contract). The arrays are replaced when the
   * store grows: read this property again after every write.
   */
  get columns(): TokenColumns {
    return this.tokens.cols;
  }

  /** Connection columns (read-only); entry e is live when `isConnectionLive(e)`. */
  get connections(): ConnectionColumns {
    return this.edges.arena.columns;
  }

  owns(id: number): boolean {
    return id % this.shardCount === this.shard;
  }

  has(id: number): boolean {
    return this.tokens.slotOf(id) >= 0;
  }

  /** Slot of token `id` in `columns`, or −1. Slots change when tokens are deleted. */
  slotOf(id: number): number {
    return this.tokens.slotOf(id);
  }

  // ---- tokens ------------------------------------------------------------------------------

  /**
   * Creates tokens from packed records. Id 0 gets a fresh id (> every domain-0 id stored so far,
   * ≡ shard mod shardCount, < 2^28), written back into `records` and returned in `ids`.
   * Existing ids are ALREADY_EXISTS, repeated ids duplicate_in_batch, foreign ids not_owned.
   */
  insertRecords(records: Uint8Array, opts: InsertOptions = {}): InsertResult {
    return insertTokens(this.state, records, opts);
  }

  /** Replaces existing tokens (every field) by id; a missing id is NOT_FOUND. */
  updateRecords(records: Uint8Array, opts: TokenWriteOptions = {}): WriteResult {
    return updateTokens(this.state, records, opts);
  }

  /** Deletes tokens and every connection touching them; see DeleteResult for the remote keys. */
  deleteIds(ids: ArrayLike<number>, opts: WriteOptions = {}): DeleteResult {
    return deleteTokens(this.state, ids, opts);
  }
  /** The 64-byte record of `id`, or undefined. */
  get(id: number): Uint8Array | undefined {
    const slot = this.tokens.slotOf(id);
    if (slot < 0) return undefined;
    const out = new Uint8Array(TOKEN_RECORD_SIZE);
    copySlotToRecord(this.tokens.cols, this.tokens.alias, slot, recordViews(out), 0);
    return out;
  }

  /** Packed records of `ids` (into `out` when given: ids.length × 64 bytes, 4-aligned). */
  getRecords(ids: ArrayLike<number>, out?: Uint8Array): GetResult {
    const n = ids.length;
    const records = out ?? new Uint8Array(n * TOKEN_RECORD_SIZE);
    if (records.byteLength < n * TOKEN_RECORD_SIZE || records.byteOffset % 4 !== 0) {
      throw ValidationError.of("get request", [
        { field: "out", value: String(records.byteLength), rule: "out_size", description: `out must be 4-aligned and hold ${n * TOKEN_RECORD_SIZE} bytes` },
      ]);
    }
    const found = new Uint8Array(n);
    const slots = new Int32Array(n);
    const tt = this.tokens;
    const count = tt.table.findMany(ids, n, tt.cols.ids, slots);
    for (let i = 0; i < n; i++) found[i] = slots[i]! >= 0 ? 1 : 0;
    gatherRecords(tt.cols, tt.alias, ids, slots, recordViews(records));
    return { records, found, count };
  }

  // ---- connections -------------------------------------------------------------------------

  /**
   * Creates or replaces connections keyed by (source, target, type). A local source must exist;
   * a local target must exist; a remote target is vouched for by the caller; a remote source with
   * a local target stores a mirror. Degree limits count created connections only.
   */
  connectRecords(records: Uint8Array, opts: ConnectOptions = {}): ConnectResult {
    return this.edges.connect(records, opts, this.connectionLimits);
  }

  /** Removes one connection; false when it does not exist. */
  disconnect(source: number, target: number, type: number): boolean {
    const e = this.edges.arena.find(source, target, type);
    if (e === NO_EDGE) return false;
    this.edges.removeEdge(e);
    return true;
  }

  /** Removes connections by key; a missing key is NOT_FOUND. */
  disconnectKeys(sources: Uint32Array, targets: Uint32Array, types: Uint8Array, opts: WriteOptions = {}): WriteResult {
    return this.edges.disconnect(sources, targets, types, opts);
  }

  /** Arena entry of a connection, or −1. */
  connectionIndex(source: number, target: number, type: number): number {
    return this.edges.arena.find(source, target, type);
  }

  isConnectionLive(e: number): boolean {
    return (this.edges.arena.state[e] ?? EdgeState.Free) !== EdgeState.Free;
  }

  /** True for a mirror (a copy of a connection owned by the source's shard). */
  isMirror(e: number): boolean {
    return this.edges.arena.state[e] === EdgeState.Mirror;
  }

  /** Packed records of connections by key (zero records where missing). */
  getConnectionRecords(sources: ArrayLike<number>, targets: ArrayLike<number>, types: ArrayLike<number>): ConnectionGetResult {
    const n = sources.length;
    const records = new Uint8Array(n * CONNECTION_RECORD_SIZE);
    const rec = recordViews(records);
    const found = new Uint8Array(n);
    let count = 0;
    for (let i = 0; i < n; i++) {
      const e = this.edges.arena.find(sources[i]!, targets[i] ?? 0, types[i] ?? 0);
      if (e === NO_EDGE) continue;
      this.edges.arena.writeRecord(e, rec, i);
      found[i] = 1;
      count++;
    }
    return { records, found, count };
  }

  outDegree(id: number): number {
    const slot = this.tokens.slotOf(id);
    return slot < 0 ? 0 : this.edges.adj.outDegree(slot);
  }

  inDegree(id: number): number {
    const slot = this.tokens.slotOf(id);
    return slot < 0 ? 0 : this.edges.adj.inDegree(slot);
  }

  /** Cursor over out-edges of `id` (owned connections): first entry or −1; then `nextOutEdge`. */
  firstOutEdge(id: number): number {
    const slot = this.tokens.slotOf(id);
    return slot < 0 ? NO_EDGE : this.edges.adj.outHead(slot);
  }

  nextOutEdge(e: number): number {
    return this.edges.arena.nextOut[e] ?? NO_EDGE;
  }

  /** Cursor over in-edges of `id` (local and mirrors): first entry or −1; then `nextInEdge`. */
  firstInEdge(id: number): number {
    const slot = this.tokens.slotOf(id);
    return slot < 0 ? NO_EDGE : this.edges.adj.inHead(slot);
  }

  nextInEdge(e: number): number {
    return this.edges.arena.nextIn[e] ?? NO_EDGE;
  }

  /** Neighbours for graph algorithms (protocol of graph/expansion.ts). */
  expand(req: ExpandRequest): Expansion {
    return this.edges.expand(req);
  }

  // ---- learning ----------------------------------------------------------------------------

  private ownedEdge(source: number, target: number, type: number): number {
    const e = this.edges.arena.find(source, target, type);
    if (e === NO_EDGE) throw new NotFoundError(`connection ${source} → ${target} type ${type} does not exist on shard ${this.shard}`);
    if (this.edges.arena.state[e] === EdgeState.Mirror) {
      throw new FailedPreconditionError(`connection ${source} → ${target} is a mirror here; send learning updates to shard ${source % this.shardCount}`);
    }
    return e;
  }

  /** Records a use of the connection (count, last_activation, REINFORCED for Learnable). */
  activateConnection(source: number, target: number, type: number, now: number): void {
    activate(this.edges.arena, this.ownedEdge(source, target, type), now);
  }

  /** Success/failure feedback; false (nothing changed) for an Immutable connection. */
  recordFeedback(source: number, target: number, type: number, success: boolean, now: number): boolean {
    return recordFeedback(this.edges.arena, this.ownedEdge(source, target, type), success, now);
  }

  /** Settles time-based decay of every owned Hypothesis connection; returns how many changed. */
  decayConnections(now: number): number {
    const a = this.edges.arena;
    const hwm = a.columns.size;
    let changed = 0;
    for (let e = 0; e < hwm; e++) if (a.state[e] === EdgeState.Owned && decay(a, e, now)) changed++;
    return changed;
  }

  /** Promotion and deletion proposals for owned Hypothesis connections (nothing is applied). */
  lifecycleProposals(thresholds: LifecycleThresholds = DEFAULT_LIFECYCLE): ConnectionProposal[] {
    const a = this.edges.arena;
    const hwm = a.columns.size;
    const out: ConnectionProposal[] = [];
    for (let e = 0; e < hwm; e++) {
      if (a.state[e] !== EdgeState.Owned) continue;
      const p = lifecycleProposal(a, e, thresholds);
      if (p !== undefined) out.push(p);
    }
    return out;
  }

  /** Checks a proposal against the connection's current state and applies it, or throws. */
  applyProposal(p: ConnectionProposal, now: number, thresholds: LifecycleThresholds = DEFAULT_LIFECYCLE): void {
    const e = this.ownedEdge(p.source, p.target, p.type);
    const why = proposalViolation(this.edges.arena, e, p, thresholds);
    if (why !== undefined) {
      throw new FailedPreconditionError(`cannot ${p.kind} connection ${p.source} → ${p.target}: ${why}`, [
        { field: "proposal", value: p.kind, rule: "proposal_applicable", description: why },
      ]);
    }
    if (p.kind === "promote") promote(this.edges.arena, e, p.learningRate, now);
    else this.edges.removeEdge(e);
  }

  // ---- field engine ------------------------------------------------------------------------

  /**
   * Moves tokens: sets the coordinates of the spaces in `spaceMask` of every existing id to
   * `coords` (3 values per space of the mask, ascending, per id). Missing ids are skipped (the
   * field engine may hold a token that was deleted since). Returns the number of tokens moved.
   */
  setCoords(ids: Uint32Array, coords: Int16Array, spaceMask: number): number {
    const spaces: number[] = [];
    for (let s = 0; s < 8; s++) if ((spaceMask & (1 << s)) !== 0) spaces.push(s);
    const stride = spaces.length * 3;
    if (coords.length < ids.length * stride) {
      throw ValidationError.of("coordinates", [
        { field: "coords", value: String(coords.length), rule: "coords_length", description: `needs ${stride} values per id (${ids.length * stride})` },
      ]);
    }
    const tt = this.tokens;
    const out = tt.cols.coords;
    let moved = 0;
    for (let i = 0; i < ids.length; i++) {
      const slot = tt.slotOf(ids[i]!);
      if (slot < 0) continue;
      const base = slot * 24;
      const src = i * stride;
      for (let a = 0; a < spaces.length; a++) {
        const o = base + spaces[a]! * 3;
        out[o] = coords[src + a * 3]!;
        out[o + 1] = coords[src + a * 3 + 1]!;
        out[o + 2] = coords[src + a * 3 + 2]!;
      }
      moved++;
    }
    return moved;
  }

  /**
   * Calls `visit(e)` for every live connection this shard owns (mirrors are skipped: the owner
   * of the source lists each connection once), in arena order.
   */
  forEachOwnedConnection(visit: (e: number) => void): void {
    const a = this.edges.arena;
    const hwm = a.columns.size;
    for (let e = 0; e < hwm; e++) if (a.state[e] === EdgeState.Owned) visit(e);
  }

  // ---- snapshots ---------------------------------------------------------------------------

  /** All tokens as packed records, in slot order. */
  exportTokens(): Uint8Array {
    return encodeTokens(this.tokens.cols, 0, this.tokens.size);
  }

  /** All live connections (owned and mirrors) as packed records, in arena order. */
  exportConnections(): Uint8Array {
    const a = this.edges.arena;
    const out = new Uint8Array(a.count * CONNECTION_RECORD_SIZE);
    const rec = recordViews(out);
    const hwm = a.columns.size;
    for (let e = 0, r = 0; e < hwm; e++) if (a.state[e] !== EdgeState.Free) a.writeRecord(e, rec, r++);
    return out;
  }

}
