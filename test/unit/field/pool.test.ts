/**
 * The Piscina field pool gives bit-identical positions to the single-threaded `fieldStep`, with
 * 1, 2 and 4 worker threads, over several steps (ghost slots, coincident tokens, big radii).
 */
import { afterAll, describe, expect, it } from "vitest";
import { allocInt16, allocUint16, allocUint32, allocUint8 } from "../../../src/core/field/buffers.ts";
import { stepConstants } from "../../../src/core/field/integrate.ts";
import { DEFAULT_FORCE_PARAMS, spaceTemperaturesAt } from "../../../src/core/field/params.ts";
import { buildForceGraph } from "../../../src/core/field/springs.ts";
import { type TokenAttributes, allocateFieldWorkspace, fieldStep } from "../../../src/core/field/step.ts";
import { FieldPool } from "../../../src/runtime/field/index.ts";
import { randomField } from "./random-input.ts";

const STEPS = 4;
const params = { ...DEFAULT_FORCE_PARAMS, activeSpaces: 0b1000_0101 };

function sharedCopy<T extends Int16Array | Uint32Array | Uint16Array | Uint8Array>(a: T, alloc: (n: number, shared: boolean) => T): T {
  const out = alloc(a.length, true);
  out.set(a);
  return out;
}

async function run(pool: FieldPool | undefined, seed: number, bigRadii: boolean): Promise<Int16Array> {
  const f = randomField(seed, 700, 60, 1400, bigRadii);
  const attrs: TokenAttributes = {
    positions: sharedCopy(f.attrs.positions, allocInt16),
    ids: sharedCopy(f.attrs.ids, allocUint32),
    flags: sharedCopy(f.attrs.flags, allocUint16),
    radii: sharedCopy(f.attrs.radii, allocUint8),
    strengths: sharedCopy(f.attrs.strengths, allocUint8),
  };
  const graph = buildForceGraph(f.springs, f.local, f.slotCount, { shared: true });
  const ws = allocateFieldWorkspace(f.slotCount, true);
  let next = allocInt16(f.slotCount * 24, true);
  next.set(attrs.positions);
  {
    let cur = attrs;
    for (let s = 0; s < STEPS; s++) {
      const constants = stepConstants(params, spaceTemperaturesAt(params, s));
      if (pool === undefined) fieldStep(ws, cur, f.slotCount, graph, constants, next);
      else await pool.step(ws, cur, f.slotCount, graph, constants, next);
      // Ghost slots keep their positions (the next step reads them from the new buffer too).
      next.set(cur.positions.subarray(f.local * 24, f.slotCount * 24), f.local * 24);
      const prev = cur.positions;
      cur = { ...cur, positions: next };
      next = prev;
    }
    return Int16Array.from(cur.positions);
  }
}

const pools = new Map<number, FieldPool>();
function poolOf(threads: number): FieldPool {
  let p = pools.get(threads);
  if (p === undefined) {
    p = new FieldPool({ threads });
    pools.set(threads, p);
  }
  return p;
}

describe("FieldPool", () => {
  afterAll(async () => {
    for (const p of pools.values()) await p.close();
  });

  for (const bigRadii of [false, true]) {
    it(`gives the same positions as fieldStep with 1, 2 and 4 threads${bigRadii ? " (big radii)" : ""}`, { timeout: 60_000 }, async () => {
      const reference = await run(undefined, 31, bigRadii);
      for (const threads of [1, 2, 4]) {
        const got = await run(poolOf(threads), 31, bigRadii);
        expect(got).toEqual(reference);
      }
      // The step moved something (the comparison is not between untouched inputs).
      const f = randomField(31, 700, 60, 1400, bigRadii);
      expect(reference).not.toEqual(Int16Array.from(f.attrs.positions));
    });
  }

  it("rejects buffers that are not shared, and a bad thread count, without running", async () => {
    expect(() => new FieldPool({ threads: 0 })).toThrow(/thread_count|integer in \[1, 256\]/);
    const pool = poolOf(1);
    const f = randomField(3, 50, 0, 60);
    const graph = buildForceGraph(f.springs, f.local, f.slotCount);
    const ws = allocateFieldWorkspace(f.slotCount, true);
    const out = new Int16Array(f.slotCount * 24);
    await expect(pool.step(ws, f.attrs, f.slotCount, graph, stepConstants(params, 1), out)).rejects.toThrow(/SharedArrayBuffer/);
    expect(out.every((v) => v === 0)).toBe(true);
  });
});
