/**
 * Spatial queries over a shard's tokens, one index per space, built lazily (only spaces that are
 * queried) and kept exact between rebuilds through an overflow of changed ids.
 *
 * Contract with the owner of the columns: call `noteChanged(id)` after every insert, delete, or
 * change of a token's coordinates, field radius or field strength (ids, not slots, so swap-remove
 * moving slots does not matter), and `invalidate()` after bulk changes such as a force step. A
 * space rebuilds itself on its next query when its overflow exceeds the limit or it was
 * invalidated. See config.ts for how distances, radii and ties are decided.
 *
 * Queries write into a `SpatialResult` (the caller's, or the index's own `result`, overwritten by
 * the next query): no allocation per candidate.
 */
import { NotFoundError } from "../errors.ts";
import { COORDS_PER_TOKEN } from "../token/columns.ts";
import { ArgumentCheck, radiusToRaw, resolveCellSizes, toRaw } from "./config.ts";
import { SCALES } from "../token/layout.ts";
import type { SpatialIndexOptions } from "./config.ts";
import { SpatialResult } from "./result.ts";
import { ScanMode, SpaceGrid } from "./space-grid.ts";
import type { SpatialSource } from "./space-grid.ts";

export class SpatialIndex {
  private readonly source: SpatialSource;
  private grids: SpaceGrid[];
  private readonly overflowLimit: number | undefined;
  private keys = new Uint32Array(0);
  private readonly scratch = new SpatialResult();
  /** The default result buffer, overwritten by every query that is not given one. */
  readonly result = new SpatialResult();

  constructor(source: SpatialSource, options: SpatialIndexOptions = {}) {
    const cells = resolveCellSizes(options.cellSizes);
    if (options.overflowLimit !== undefined) {
      const check = new ArgumentCheck();
      const v = options.overflowLimit;
      if (!Number.isInteger(v) || v < 0) check.add("overflowLimit", v, "overflow_limit_range", "must be an integer ≥ 0");
      check.throwIfAny("spatial index options");
    }
    this.source = source;
    this.overflowLimit = options.overflowLimit;
    this.grids = Array.from(cells, (c, s) => new SpaceGrid(s, c));
  }

  /** Cell edges in decoded units (as resolved to whole raw units). */
  cellSizes(): number[] {
    return this.grids.map((g) => g.cellRaw / SCALES[g.space]!);
  }

  /** Replaces the cell sizes (e.g. a new constitution); every space rebuilds on its next query. */
  setCellSizes(sizes: ArrayLike<number>): void {
    const cells = resolveCellSizes(sizes);
    this.grids = Array.from(cells, (c, s) => new SpaceGrid(s, c));
  }

  /** Records that token `id` was inserted, deleted, or changed position, radius or strength. */
  noteChanged(id: number): void {
    if (id === 0) return; // never a stored token (and the dirty table's empty marker)
    for (const g of this.grids) {
      if (!g.built) continue;
      g.dirty.add(id);
      if (g.dirty.size > g.overflowLimit) g.built = false;
    }
  }

  noteChangedMany(ids: ArrayLike<number>): void {
    for (let i = 0; i < ids.length; i++) this.noteChanged(ids[i]!);
  }

  /** Marks one space (or all) for rebuild on the next query, keeping the memory for reuse. */
  invalidate(space?: number): void {
    for (const g of this.grids) if (space === undefined || g.space === space) g.built = false;
  }

  /** Frees a space's index memory (or all spaces'); it is rebuilt when queried again. */
  release(space?: number): void {
    for (const g of this.grids) if (space === undefined || g.space === space) g.release();
  }

  /** Builds (or rebuilds) a space now instead of on its next query. */
  build(space: number): void {
    const check = new ArgumentCheck();
    check.space(space);
    check.throwIfAny("spatial index build");
    this.rebuild(this.grids[space]!);
  }

  isBuilt(space: number): boolean {
    return this.grids[space]?.built === true;
  }

  /** Changed tokens a built space currently reads from the columns instead of its cells. */
  overflowSize(space: number): number {
    const g = this.grids[space];
    return g?.built === true ? g.dirty.size : 0;
  }

  /** Bytes held by the index (all spaces, scratch and result buffers). */
  byteSize(): number {
    let bytes = this.keys.byteLength + this.scratch.byteSize() + this.result.byteSize();
    for (const g of this.grids) bytes += g.byteSize();
    return bytes;
  }

  /**
   * Tokens within `radius` of token `id` in `space`, the token itself excluded, nearest first
   * (ties by id); at most `limit` of them when given.
   */
  neighbors(id: number, space: number, radius: number, limit?: number, out: SpatialResult = this.result): SpatialResult {
    const check = new ArgumentCheck();
    check.tokenId(id);
    check.space(space);
    check.radius("radius", radius);
    if (limit !== undefined) check.count("limit", limit);
    check.throwIfAny("neighbour query");
    const [px, py, pz] = this.positionOf(id, space);
    const R = radiusToRaw(radius, space);
    if (limit === undefined) return this.collect(space, px, py, pz, R, id, out);
    return this.knn(space, px, py, pz, limit, R * R, id, out);
  }

  /** The `k` tokens nearest to token `id` in `space`, itself excluded. */
  nearestTo(id: number, space: number, k: number, out: SpatialResult = this.result): SpatialResult {
    const check = new ArgumentCheck();
    check.tokenId(id);
    check.space(space);
    check.count("k", k);
    check.throwIfAny("nearest-neighbour query");
    const [px, py, pz] = this.positionOf(id, space);
    return this.knn(space, px, py, pz, k, Infinity, id, out);
  }

  /** Tokens within `radius` of the point (x, y, z) (decoded units), nearest first, ties by id. */
  range(space: number, x: number, y: number, z: number, radius: number, out: SpatialResult = this.result): SpatialResult {
    const check = this.checkPoint(space, x, y, z, (c) => c.radius("radius", radius));
    check.throwIfAny("range query");
    return this.collect(space, toRaw(x, space), toRaw(y, space), toRaw(z, space), radiusToRaw(radius, space), 0, out);
  }

  /** The `k` tokens nearest to the point (x, y, z), nearest first, ties by id. */
  nearest(space: number, x: number, y: number, z: number, k: number, out: SpatialResult = this.result): SpatialResult {
    const check = this.checkPoint(space, x, y, z, (c) => c.count("k", k));
    check.throwIfAny("nearest-neighbour query");
    return this.knn(space, toRaw(x, space), toRaw(y, space), toRaw(z, space), k, Infinity, 0, out);
  }

  /** Number of tokens within `radius` of the point. */
  countWithin(space: number, x: number, y: number, z: number, radius: number): number {
    const check = this.checkPoint(space, x, y, z, (c) => c.radius("radius", radius));
    check.throwIfAny("count query");
    return this.count(space, x, y, z, radius);
  }

  /** Tokens per cubic decoded unit within `radius` (> 0) of the point: count / (4/3·π·r³). */
  density(space: number, x: number, y: number, z: number, radius: number): number {
    const check = this.checkPoint(space, x, y, z, (c) => {
      c.radius("radius", radius, true);
      if (radius > 0 && !((4 / 3) * Math.PI * radius ** 3 > 0)) c.add("radius", radius, "radius_range", "is too small: its volume rounds to 0");
    });
    check.throwIfAny("density query");
    return this.count(space, x, y, z, radius) / ((4 / 3) * Math.PI * radius ** 3);
  }

  /**
   * Σ strength·(1 − d/radius) over the tokens whose own field radius covers the point (d ≤ radius,
   * radius > 0; a token with radius 0 contributes nothing). strength = field_strength / 255,
   * radius = field_radius / 100 decoded units. Summed in (distance, id) order, so the value does
   * not depend on the index layout.
   */
  fieldInfluence(space: number, x: number, y: number, z: number): number {
    const check = this.checkPoint(space, x, y, z, () => undefined);
    check.throwIfAny("field influence query");
    const g = this.ready(space);
    const fieldScale = SCALES[space]! / 100;
    const out = this.scratch;
    out.reset();
    const widest = 255 * fieldScale;
    g.begin(toRaw(x, space), toRaw(y, space), toRaw(z, space), widest * widest, ScanMode.Field, out, 0, 0);
    g.scanOverflow(this.source);
    const R = g.maxRadius * fieldScale;
    g.narrow(R * R);
    g.scanRadius(R);
    out.sortAll();
    let sum = 0;
    for (let i = 0; i < out.count; i++) sum += out.distances[i]!;
    return sum;
  }

  private count(space: number, x: number, y: number, z: number, radius: number): number {
    const g = this.ready(space);
    const R = radiusToRaw(radius, space);
    g.begin(toRaw(x, space), toRaw(y, space), toRaw(z, space), R * R, ScanMode.Count, null, 0, 0);
    g.scanOverflow(this.source);
    g.scanRadius(R);
    return g.hitCount();
  }

  private collect(space: number, px: number, py: number, pz: number, R: number, exclude: number, out: SpatialResult): SpatialResult {
    const g = this.ready(space);
    out.reset();
    g.begin(px, py, pz, R * R, ScanMode.Collect, out, 0, exclude);
    g.scanOverflow(this.source);
    g.scanRadius(R);
    out.sortAll();
    return out.finish(SCALES[space]!);
  }

  private knn(space: number, px: number, py: number, pz: number, k: number, r2: number, exclude: number, out: SpatialResult): SpatialResult {
    const g = this.ready(space);
    out.reset(k);
    g.begin(px, py, pz, r2, ScanMode.Nearest, out, k, exclude);
    g.scanOverflow(this.source);
    g.scanNearest();
    out.sortHeap();
    return out.finish(SCALES[space]!);
  }

  private checkPoint(space: number, x: number, y: number, z: number, more: (c: ArgumentCheck) => void): ArgumentCheck {
    const check = new ArgumentCheck();
    check.space(space);
    check.coordinate("x", x, space);
    check.coordinate("y", y, space);
    check.coordinate("z", z, space);
    more(check);
    return check;
  }

  private positionOf(id: number, space: number): [number, number, number] {
    const slot = this.source.slotOf(id);
    if (slot < 0) throw new NotFoundError(`token ${id} does not exist in this shard; query by point or use an existing token id`);
    const coords = this.source.columns.coords;
    const c = slot * COORDS_PER_TOKEN + space * 3;
    return [coords[c]!, coords[c + 1]!, coords[c + 2]!];
  }

  private ready(space: number): SpaceGrid {
    const g = this.grids[space]!;
    if (!g.built) this.rebuild(g);
    return g;
  }

  private rebuild(g: SpaceGrid): void {
    const cols = this.source.columns;
    if (this.keys.length < cols.size) this.keys = new Uint32Array(Math.max(cols.size, this.keys.length * 2));
    g.build(cols, this.keys, this.overflowLimit);
  }
}
