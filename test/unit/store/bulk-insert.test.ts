import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ValidationError } from "../../../src/core/errors.ts";
import { ShardStore } from "../../../src/core/store/index.ts";
import { encodeToken, tokenFields } from "../../../src/core/token/index.ts";
import { sameBytes } from "../../helpers/bytes.ts";
import { internalBytes } from "../../helpers/store-model.ts";

const NOW = 1_700_000_000;

function tokens(ids: readonly number[], seed: number): Uint8Array {
  const out = new Uint8Array(ids.length * 64);
  ids.forEach((id, i) => encodeToken(tokenFields(id, NOW + i, { weight: ((seed + i) % 7) / 8 }), out, i));
  return out;
}

/** The outcome of an insert: its result, or the violations it was refused with. */
function outcome(fn: () => { ids: Uint32Array; accepted: Uint8Array; applied: number }): unknown {
  try {
    const r = fn();
    return { ids: Array.from(r.ids), accepted: Array.from(r.accepted), applied: r.applied };
  } catch (err) {
    if (err instanceof ValidationError) return err.violations;
    throw err;
  }
}

describe("bulk insert of explicit ids", () => {
  it("answers and changes exactly what the general insert path does (ids 0, foreign, stored and repeated ones included)", () => {
    const S = 4;
    const id = fc.oneof(fc.integer({ min: 0, max: 60 }).map((q) => q * S + 1), fc.constantFrom(0, 2, 7, 0x1000_0001 + S));
    fc.assert(
      fc.property(fc.array(fc.array(id, { maxLength: 40 }), { maxLength: 6 }), fc.integer({ min: 0, max: 64 }), fc.boolean(), (batches, capacity, offset) => {
        const fast = new ShardStore({ shard: 1, shardCount: S, initialCapacity: capacity });
        const general = new ShardStore({ shard: 1, shardCount: S, initialCapacity: capacity });
        batches.forEach((ids, b) => {
          // At a 4-aligned offset that is not 8-aligned too: the 32-bit coordinate copy.
          const records = tokens(ids, b);
          const at = offset ? new Uint8Array(records.length + 4) : records;
          if (offset) at.set(records, 4);
          const view = offset ? at.subarray(4) : records;
          const a = outcome(() => fast.insertRecords(view, { allocateIds: false }));
          // A skip mask (all zero) sends the same batch down the general path.
          const g = outcome(() => general.insertRecords(records, { allocateIds: false, skip: new Uint8Array(ids.length) }));
          expect(a).toEqual(g);
          expect(sameBytes(internalBytes(fast), internalBytes(general))).toBe(true);
        });
        expect(sameBytes(fast.exportTokens(), general.exportTokens())).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});
