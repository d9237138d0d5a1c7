/**
 * A minimal column store for spatial tests: structure-of-arrays columns that grow by doubling
 * (so the index must re-read them), an id → slot Map, swap-remove on delete, and an optional
 * index it notifies of every change, as the shard store's owner does.
 */
import type { TokenColumns } from "../../../src/core/token/columns.ts";
import type { SpatialIndex, SpatialSource } from "../../../src/core/spatial/index.ts";

export interface TokenSpec {
  id: number;
  /** 24 raw int16 values: 8 spaces × xyz. */
  coords: ArrayLike<number>;
  radius?: number;
  strength?: number;
}

export class TestStore implements SpatialSource {
  private cols: {
    size: number;
    coords: Int16Array;
    ids: Uint32Array;
    flags: Uint16Array;
    weights: Float32Array;
    radii: Uint8Array;
    strengths: Uint8Array;
    timestamps: Uint32Array;
  };
  private readonly slots = new Map<number, number>();
  index: SpatialIndex | null = null;

  constructor(capacity = 4) {
    this.cols = TestStore.alloc(capacity);
  }

  private static alloc(cap: number): TestStore["cols"] {
    return {
      size: 0,
      coords: new Int16Array(cap * 24),
      ids: new Uint32Array(cap),
      flags: new Uint16Array(cap),
      weights: new Float32Array(cap),
      radii: new Uint8Array(cap),
      strengths: new Uint8Array(cap),
      timestamps: new Uint32Array(cap),
    };
  }

  get columns(): TokenColumns {
    return this.cols;
  }

  get size(): number {
    return this.cols.size;
  }

  slotOf(id: number): number {
    return this.slots.get(id) ?? -1;
  }

  has(id: number): boolean {
    return this.slots.has(id);
  }

  insert(t: TokenSpec): void {
    if (this.slots.has(t.id)) throw new Error(`duplicate ${t.id}`);
    let c = this.cols;
    if (c.size === c.ids.length) {
      const g = TestStore.alloc(c.ids.length * 2);
      g.coords.set(c.coords);
      g.ids.set(c.ids);
      g.radii.set(c.radii);
      g.strengths.set(c.strengths);
      g.size = c.size;
      this.cols = c = g;
    }
    const s = c.size++;
    c.ids[s] = t.id;
    c.coords.set(Array.from(t.coords), s * 24);
    c.radii[s] = t.radius ?? 0;
    c.strengths[s] = t.strength ?? 0;
    this.slots.set(t.id, s);
    this.index?.noteChanged(t.id);
  }

  /** Sets one space's raw xyz of token `id`. */
  move(id: number, space: number, x: number, y: number, z: number): void {
    const s = this.slotOf(id);
    this.cols.coords.set([x, y, z], s * 24 + space * 3);
    this.index?.noteChanged(id);
  }

  setField(id: number, radius: number, strength: number): void {
    const s = this.slotOf(id);
    this.cols.radii[s] = radius;
    this.cols.strengths[s] = strength;
    this.index?.noteChanged(id);
  }

  /** Swap-remove: the last token moves into the freed slot. */
  delete(id: number): void {
    const c = this.cols;
    const s = this.slotOf(id);
    const last = c.size - 1;
    if (s !== last) {
      c.coords.copyWithin(s * 24, last * 24, last * 24 + 24);
      c.ids[s] = c.ids[last]!;
      c.radii[s] = c.radii[last]!;
      c.strengths[s] = c.strengths[last]!;
      this.slots.set(c.ids[s], s);
    }
    c.size = last;
    this.slots.delete(id);
    this.index?.noteChanged(id);
  }

  /** Raw xyz of `id` in `space`. */
  position(id: number, space: number): [number, number, number] {
    const o = this.slotOf(id) * 24 + space * 3;
    const k = this.cols.coords;
    return [k[o]!, k[o + 1]!, k[o + 2]!];
  }
}
