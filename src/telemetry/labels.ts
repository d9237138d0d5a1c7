/**
 * Bounded label sets. Every label of a `neurograph_*` family maps its values to a small dense
 * index, so a metric update is an array write and the number of series can never grow without
 * bound: values outside the known list are admitted up to a cap (when they look like an
 * identifier), everything else lands in the series `other`.
 */

/** Label value used for everything that is not admitted. */
export const OTHER = "other";

/** Values that may be admitted dynamically: identifiers, gRPC paths, dotted names. */
const ADMISSIBLE = /^[A-Za-z0-9_.:/-]{1,96}$/;

export interface BoundedLabelOptions {
  /** Values known up front; their series exist from the start. */
  readonly known: readonly string[];
  /** How many further values may be admitted at run time (0 = closed set). */
  readonly maxDynamic: number;
}

export class BoundedLabel {
  private readonly indexByValue = new Map<string, number>();
  private readonly valueList: string[] = [];
  /** Number of series the label can ever have: known + dynamic + `other`. */
  readonly capacity: number;
  /** Index of the `other` series (always the last slot). */
  readonly otherIndex: number;
  /** Number of values known at construction (their series are pre-initialised). */
  readonly knownCount: number;

  constructor(options: BoundedLabelOptions) {
    for (const v of options.known) {
      if (v === OTHER || this.indexByValue.has(v)) continue;
      this.indexByValue.set(v, this.valueList.length);
      this.valueList.push(v);
    }
    this.knownCount = this.valueList.length;
    this.capacity = this.knownCount + Math.max(0, options.maxDynamic) + 1;
    this.otherIndex = this.capacity - 1;
  }

  /** The index of `value`, admitting it if there is room; `otherIndex` otherwise. O(1). */
  indexOf(value: string): number {
    const i = this.indexByValue.get(value);
    if (i !== undefined) return i;
    if (value === OTHER) return this.otherIndex;
    if (this.valueList.length >= this.otherIndex || !ADMISSIBLE.test(value)) return this.otherIndex;
    const added = this.valueList.length;
    this.indexByValue.set(value, added);
    this.valueList.push(value);
    return added;
  }

  /** The label value of a series index. */
  valueAt(index: number): string {
    return index === this.otherIndex ? OTHER : (this.valueList[index] ?? OTHER);
  }

  /** Values admitted so far (known first), without `other`. */
  values(): readonly string[] {
    return this.valueList;
  }
}

/** A closed label over a fixed list (no dynamic admission). */
export function closedLabel(values: readonly string[]): BoundedLabel {
  return new BoundedLabel({ known: values, maxDynamic: 0 });
}

/** Shard label `0..S-1`; out-of-range shards map to `other` instead of throwing on a hot path. */
export class ShardLabel extends BoundedLabel {
  readonly shards: number;
  constructor(shards: number) {
    super({ known: Array.from({ length: shards }, (_, i) => String(i)), maxDynamic: 0 });
    this.shards = shards;
  }

  /** O(1) without a map lookup: shard numbers are their own index. */
  indexOfShard(shard: number): number {
    return Number.isInteger(shard) && shard >= 0 && shard < this.shards ? shard : this.otherIndex;
  }
}

/** Escapes a label value for the text exposition format. */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}
