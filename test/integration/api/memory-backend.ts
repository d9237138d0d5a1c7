/**
 * A small in-memory NodeBackend for the API tests. It stands in for the actor layer (not for
 * gRPC): plain maps, brute-force queries, the documented error behaviour, plus hooks to inject a
 * failure, to hang until the call aborts, and to record what the backend received.
 */
import {
  AlreadyExistsError,
  ErrorCode,
  NotFoundError,
  ValidationError,
  type FieldViolation,
} from "../../../src/core/errors.ts";
import { Direction } from "../../../src/core/graph/expansion.ts";
import type {
  ConnectionKeys,
  CreateTokensResult,
  DeleteTokensResult,
  GetConnectionsQuery,
  GetConnectionsResult,
  GetTokensResult,
  ItemRejection,
  KNearestQuery,
  NeighborsQuery,
  NodeBackend,
  NodeStats,
  RangeQuery,
  RequestContext,
  ShardStats,
  ShortestPathQuery,
  ShortestPathResult,
  SpatialMatches,
  SpreadingActivationQuery,
  SpreadingActivationResult,
  TraverseQuery,
  TraverseResult,
  TypeFilter,
  WriteOptions,
  WriteResult,
} from "../../../src/api/backend.ts";
import { SPACE_SCALES } from "../../../src/api/records.ts";

const R = 64;
const u32 = (b: Uint8Array, o: number): number => new DataView(b.buffer, b.byteOffset).getUint32(o, true);
const f32 = (b: Uint8Array, o: number): number => new DataView(b.buffer, b.byteOffset).getFloat32(o, true);
const allowed = (types: TypeFilter, t: number): boolean => types === null || ((types[t >> 3] ?? 0) & (1 << (t & 7))) !== 0;

interface Edge {
  readonly source: number;
  readonly target: number;
  readonly type: number;
  readonly confidence: number;
  readonly record: Uint8Array;
}

export class MemoryBackend implements NodeBackend {
  readonly tokens = new Map<number, Uint8Array>();
  readonly edges = new Map<string, Edge>();
  /** The next call throws this. */
  failure: Error | undefined;
  /** Calls wait until their signal aborts (then reject with its reason). */
  hang = false;
  /** Calls wait for this promise before they run. */
  gate: Promise<void> | undefined;
  readonly calls: string[] = [];
  readonly contexts: RequestContext[] = [];
  readonly abortReasons: unknown[] = [];
  #nextId = 1;

  private async enter(name: string, ctx: RequestContext): Promise<void> {
    this.calls.push(name);
    this.contexts.push(ctx);
    if (this.failure !== undefined) {
      const failure = this.failure;
      this.failure = undefined;
      throw failure;
    }
    if (this.gate !== undefined) await this.gate;
    if (this.hang) {
      await new Promise<never>((_, reject) => {
        ctx.signal.addEventListener("abort", () => {
          this.abortReasons.push(ctx.signal.reason);
          reject(ctx.signal.reason as Error);
        }, { once: true });
      });
    }
  }

  private tokenProblems(records: Uint8Array, mustExist: boolean): ItemRejection[] {
    const out: ItemRejection[] = [];
    const seen = new Set<number>();
    for (let i = 0; i < records.length / R; i++) {
      const id = u32(records, i * R + 48);
      const weight = f32(records, i * R + 54);
      if (!(weight >= 0 && weight <= 1)) {
        out.push({ index: i, id, code: ErrorCode.InvalidArgument, field: "weight", value: String(weight), rule: "weight_range", description: "weight must be within [0, 1]" });
      } else if (mustExist && !this.tokens.has(id)) {
        out.push({ index: i, id, code: ErrorCode.NotFound, field: "id", value: String(id), rule: "token_exists", description: `token ${id} does not exist` });
      } else if (!mustExist && id !== 0 && (this.tokens.has(id) || seen.has(id))) {
        out.push({ index: i, id, code: ErrorCode.AlreadyExists, field: "id", value: String(id), rule: "id_unique", description: `token ${id} exists already` });
      }
      if (id !== 0) seen.add(id);
    }
    return out;
  }

  private static throwStrict(what: string, problems: readonly ItemRejection[]): void {
    if (problems.length === 0) return;
    const invalid = problems.filter((p) => p.code === ErrorCode.InvalidArgument);
    if (invalid.length > 0) throw ValidationError.of(what, invalid.map(({ code: _c, id: _i, ...v }): FieldViolation => v));
    const first = problems[0]!;
    if (first.code === ErrorCode.AlreadyExists) throw new AlreadyExistsError(`${first.description}; use UpdateTokens to change it`);
    throw new NotFoundError(first.description);
  }

  async createTokens(records: Uint8Array, options: WriteOptions, ctx: RequestContext): Promise<CreateTokensResult> {
    await this.enter("createTokens", ctx);
    const problems = this.tokenProblems(records, false);
    if (!options.partial) MemoryBackend.throwStrict("token batch", problems);
    const bad = new Set(problems.map((p) => p.index));
    const n = records.length / R;
    const ids = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      if (bad.has(i)) continue;
      const record = new Uint8Array(records.subarray(i * R, (i + 1) * R));
      let id = u32(record, 48);
      if (id === 0) {
        while (this.tokens.has(this.#nextId)) this.#nextId++;
        id = this.#nextId++;
        new DataView(record.buffer).setUint32(48, id, true);
      }
      this.tokens.set(id, record);
      ids[i] = id;
    }
    return { ids, accepted: n - bad.size, rejected: problems };
  }

  ingestTokens(records: Uint8Array, options: WriteOptions, ctx: RequestContext): Promise<CreateTokensResult> {
    return this.createTokens(records, options, ctx);
  }

  async getTokens(ids: Uint32Array, options: { allowMissing: boolean }, ctx: RequestContext): Promise<GetTokensResult> {
    await this.enter("getTokens", ctx);
    const found: Uint8Array[] = [];
    const missing: number[] = [];
    for (const id of ids) {
      const t = this.tokens.get(id);
      if (t === undefined) missing.push(id);
      else found.push(t);
    }
    if (missing.length > 0 && !options.allowMissing) throw new NotFoundError(`tokens not found: ${missing.slice(0, 5).join(", ")}`);
    const records = new Uint8Array(found.length * R);
    found.forEach((t, i) => records.set(t, i * R));
    return { records, missing: Uint32Array.from(missing) };
  }

  async updateTokens(records: Uint8Array, options: WriteOptions, ctx: RequestContext): Promise<WriteResult> {
    await this.enter("updateTokens", ctx);
    const problems = this.tokenProblems(records, true);
    if (!options.partial) MemoryBackend.throwStrict("token batch", problems);
    const bad = new Set(problems.map((p) => p.index));
    for (let i = 0; i < records.length / R; i++) {
      if (!bad.has(i)) this.tokens.set(u32(records, i * R + 48), new Uint8Array(records.subarray(i * R, (i + 1) * R)));
    }
    return { accepted: records.length / R - bad.size, rejected: problems };
  }

  async deleteTokens(ids: Uint32Array, options: WriteOptions, ctx: RequestContext): Promise<DeleteTokensResult> {
    await this.enter("deleteTokens", ctx);
    const problems: ItemRejection[] = [];
    ids.forEach((id, index) => {
      if (!this.tokens.has(id)) problems.push({ index, id, code: ErrorCode.NotFound, field: "", value: String(id), rule: "token_exists", description: `token ${id} does not exist` });
    });
    if (!options.partial) MemoryBackend.throwStrict("delete", problems);
    let removed = 0;
    for (const id of ids) {
      if (!this.tokens.delete(id)) continue;
      for (const [key, e] of this.edges) {
        if (e.source === id || e.target === id) {
          this.edges.delete(key);
          removed++;
        }
      }
    }
    return { accepted: ids.length - problems.length, rejected: problems, connectionsRemoved: removed };
  }

  private position(record: Uint8Array, space: number): [number, number, number] {
    const v = new DataView(record.buffer, record.byteOffset);
    const s = SPACE_SCALES[space]!;
    return [v.getInt16(space * 6, true) / s, v.getInt16(space * 6 + 2, true) / s, v.getInt16(space * 6 + 4, true) / s];
  }

  private nearest(space: number, center: readonly number[], exclude: number, radius: number, limit: number, withRecords: boolean): SpatialMatches {
    const all: [number, number][] = [];
    for (const [id, record] of this.tokens) {
      if (id === exclude) continue;
      const p = this.position(record, space);
      const d = Math.hypot(p[0] - center[0]!, p[1] - center[1]!, p[2] - center[2]!);
      if (d <= radius) all.push([d, id]);
    }
    all.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    const kept = all.slice(0, limit);
    const records = new Uint8Array(kept.length * R);
    kept.forEach(([, id], i) => records.set(this.tokens.get(id)!, i * R));
    return {
      ids: Uint32Array.from(kept.map((k) => k[1])),
      distances: Float64Array.from(kept.map((k) => k[0])),
      truncated: all.length > limit,
      ...(withRecords ? { records } : {}),
    };
  }

  private token(id: number): Uint8Array {
    const t = this.tokens.get(id);
    if (t === undefined) throw new NotFoundError(`token ${id} does not exist`);
    return t;
  }

  async neighbors(q: NeighborsQuery, ctx: RequestContext): Promise<SpatialMatches> {
    await this.enter("neighbors", ctx);
    return this.nearest(q.space, this.position(this.token(q.id), q.space), q.id, q.radius, q.limit, q.withRecords);
  }

  async range(q: RangeQuery, ctx: RequestContext): Promise<SpatialMatches> {
    await this.enter("range", ctx);
    return this.nearest(q.space, q.center, 0, q.radius, q.limit, q.withRecords);
  }

  async kNearest(q: KNearestQuery, ctx: RequestContext): Promise<SpatialMatches> {
    await this.enter("kNearest", ctx);
    const center = q.id === undefined ? q.point! : this.position(this.token(q.id), q.space);
    return this.nearest(q.space, center, q.id ?? 0, Infinity, q.k, q.withRecords);
  }

  async connect(records: Uint8Array, options: WriteOptions, ctx: RequestContext): Promise<WriteResult> {
    await this.enter("connect", ctx);
    const problems: ItemRejection[] = [];
    const n = records.length / R;
    for (let i = 0; i < n; i++) {
      const o = i * R;
      const [s, t, type] = [u32(records, o), u32(records, o + 4), records[o + 8]!];
      if (type > 0xaf) problems.push({ index: i, id: 0, code: ErrorCode.InvalidArgument, field: "type", value: String(type), rule: "type_defined", description: "type must be 0x00..0xAF" });
      else if (!this.tokens.has(s) || !this.tokens.has(t)) problems.push({ index: i, id: 0, code: ErrorCode.NotFound, field: "", value: `${s}->${t}`, rule: "endpoints_exist", description: `token ${this.tokens.has(s) ? t : s} does not exist` });
      else if (this.edges.has(`${s}:${t}:${type}`)) problems.push({ index: i, id: 0, code: ErrorCode.AlreadyExists, field: "", value: `${s}->${t}`, rule: "connection_unique", description: "the connection exists already" });
    }
    if (!options.partial) MemoryBackend.throwStrict("connection batch", problems);
    const bad = new Set(problems.map((p) => p.index));
    for (let i = 0; i < n; i++) {
      if (bad.has(i)) continue;
      const record = new Uint8Array(records.subarray(i * R, (i + 1) * R));
      const e = { source: u32(record, 0), target: u32(record, 4), type: record[8]!, confidence: f32(record, 28), record };
      this.edges.set(`${e.source}:${e.target}:${e.type}`, e);
    }
    return { accepted: n - bad.size, rejected: problems };
  }

  async disconnect(keys: ConnectionKeys, options: WriteOptions, ctx: RequestContext): Promise<WriteResult> {
    await this.enter("disconnect", ctx);
    const match = (i: number): string[] =>
      [...this.edges.values()]
        .filter((e) => e.source === keys.sources[i] && e.target === keys.targets[i] && (keys.types[i] === -1 || e.type === keys.types[i]))
        .map((e) => `${e.source}:${e.target}:${e.type}`);
    const problems: ItemRejection[] = [];
    for (let i = 0; i < keys.sources.length; i++) {
      if (match(i).length === 0) problems.push({ index: i, id: 0, code: ErrorCode.NotFound, field: "", value: `${keys.sources[i]}->${keys.targets[i]}`, rule: "connection_exists", description: "no such connection" });
    }
    if (!options.partial) MemoryBackend.throwStrict("disconnect", problems);
    let removed = 0;
    for (let i = 0; i < keys.sources.length; i++) for (const key of match(i)) removed += this.edges.delete(key) ? 1 : 0;
    return { accepted: removed, rejected: problems };
  }

  /** Neighbours of a node: [neighbour, edge] following direction and type filter. */
  private adjacent(id: number, direction: Direction, types: TypeFilter): [number, Edge][] {
    const out: [number, Edge][] = [];
    for (const e of this.edges.values()) {
      if (!allowed(types, e.type)) continue;
      if (direction !== Direction.In && e.source === id) out.push([e.target, e]);
      if (direction !== Direction.Out && e.target === id) out.push([e.source, e]);
    }
    return out.sort((a, b) => a[0] - b[0]);
  }

  async getConnections(q: GetConnectionsQuery, ctx: RequestContext): Promise<GetConnectionsResult> {
    await this.enter("getConnections", ctx);
    const parts: Uint8Array[] = [];
    for (const id of q.ids) {
      this.token(id);
      for (const [, e] of this.adjacent(id, q.direction, q.types)) parts.push(e.record);
    }
    const kept = parts.slice(0, q.limit);
    const records = new Uint8Array(kept.length * R);
    kept.forEach((p, i) => records.set(p, i * R));
    return { records, truncated: parts.length > q.limit };
  }

  async traverse(q: TraverseQuery, ctx: RequestContext): Promise<TraverseResult> {
    await this.enter("traverse", ctx);
    const ids: number[] = [];
    const depths: number[] = [];
    const parents: number[] = [];
    const seen = new Set<number>();
    const frontier: [number, number, number][] = [...q.start].map((id) => (this.token(id), [id, 0, 0]));
    let truncated = false;
    while (frontier.length > 0) {
      const [id, depth, parent] = (q.order === "bfs" ? frontier.shift() : frontier.pop())!;
      if (seen.has(id)) continue;
      if (ids.length >= q.maxNodes) {
        truncated = true;
        break;
      }
      seen.add(id);
      ids.push(id);
      depths.push(depth);
      parents.push(parent);
      if (depth >= q.maxDepth) continue;
      const next = this.adjacent(id, q.direction, q.types).filter(([n]) => !seen.has(n));
      if (q.order === "dfs") next.reverse();
      for (const [n] of next) frontier.push([n, depth + 1, id]);
    }
    const records = new Uint8Array(ids.length * R);
    ids.forEach((id, i) => records.set(this.tokens.get(id)!, i * R));
    return { ids: Uint32Array.from(ids), depths: Uint32Array.from(depths), parents: Uint32Array.from(parents), truncated, ...(q.withRecords ? { records } : {}) };
  }

  async shortestPath(q: ShortestPathQuery, ctx: RequestContext): Promise<ShortestPathResult> {
    await this.enter("shortestPath", ctx);
    this.token(q.source);
    this.token(q.target);
    const cost = new Map<number, number>([[q.source, 0]]);
    const hops = new Map<number, number>([[q.source, 0]]);
    const prev = new Map<number, number>();
    const open = new Set<number>([q.source]);
    const done = new Set<number>();
    while (open.size > 0) {
      const id = [...open].reduce((a, b) => (cost.get(a)! < cost.get(b)! || (cost.get(a) === cost.get(b) && a < b) ? a : b));
      open.delete(id);
      done.add(id);
      if (id === q.target) break;
      if (hops.get(id)! >= q.maxDepth) continue;
      for (const [n, e] of this.adjacent(id, q.direction, q.types)) {
        if (done.has(n)) continue;
        const c = cost.get(id)! + (q.algorithm === "bfs" ? 1 : 1 / e.confidence);
        if (c < (cost.get(n) ?? Infinity)) {
          cost.set(n, c);
          hops.set(n, hops.get(id)! + 1);
          prev.set(n, id);
          open.add(n);
        }
      }
    }
    if (!done.has(q.target)) return { path: null, cost: 0, visited: done.size };
    const path = [q.target];
    while (path[0] !== q.source) path.unshift(prev.get(path[0]!)!);
    return { path: Uint32Array.from(path), cost: cost.get(q.target)!, visited: done.size };
  }

  async spreadingActivation(q: SpreadingActivationQuery, ctx: RequestContext): Promise<SpreadingActivationResult> {
    await this.enter("spreadingActivation", ctx);
    const energy = new Map<number, number>();
    const depth = new Map<number, number>();
    let wave: [number, number][] = [...q.seeds].map((id, i) => (this.token(id), [id, q.energies[i]!]));
    for (let d = 0; wave.length > 0 && d <= q.maxDepth; d++) {
      const next: [number, number][] = [];
      for (const [id, e] of wave) {
        if (e <= (energy.get(id) ?? 0)) continue;
        energy.set(id, e);
        if (!depth.has(id)) depth.set(id, d);
        if (e * q.decay < q.threshold || d === q.maxDepth) continue;
        for (const [n] of this.adjacent(id, q.direction, q.types)) next.push([n, e * q.decay]);
      }
      wave = next;
    }
    const all = [...energy].sort((a, b) => b[1] - a[1] || a[0] - b[0]);
    const kept = all.slice(0, q.maxResults);
    return {
      ids: Uint32Array.from(kept.map((k) => k[0])),
      energies: Float32Array.from(kept.map((k) => k[1])),
      depths: Uint32Array.from(kept.map((k) => depth.get(k[0])!)),
      truncated: all.length > q.maxResults,
    };
  }

  async stats(ctx: RequestContext): Promise<NodeStats> {
    await this.enter("stats", ctx);
    return {
      nodeId: "memory-node",
      version: "test",
      uptimeSeconds: 1.5,
      shardCount: 4,
      localShards: 4,
      tokens: this.tokens.size,
      connections: this.edges.size,
      tokenBytes: this.tokens.size * R,
      connectionBytes: this.edges.size * R,
      rssBytes: 123456789,
    };
  }

  async listShards(ctx: RequestContext): Promise<readonly ShardStats[]> {
    await this.enter("listShards", ctx);
    return [0, 1, 2, 3].map((shard) => ({
      shard,
      nodeId: "memory-node",
      state: shard === 3 ? "read_only" : "serving",
      tokens: [...this.tokens.keys()].filter((id) => id % 4 === shard).length,
      connections: 0,
      tokenBytes: 0,
      connectionBytes: 0,
      mailboxDepth: shard,
      mailboxCapacity: 1024,
      restarts: 0,
    }));
  }
}
