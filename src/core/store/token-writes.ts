/**
 * Token writes of a shard store: batch insert (with id allocation), update and delete. Each
 * validates the whole batch before changing anything (strict) or applies exactly the valid items.
 */
import type { FieldViolation } from "../errors.ts";
import { ValidationError } from "../errors.ts";
import { checkRecordLength, copyCoordsF64, copyRecordTail, copyRecordsToColumns } from "../token/batch.ts";
import { DOMAIN_ZERO_LIMIT } from "../token/flags.ts";
import { TOKEN_RECORD_SIZE, TokenOffset } from "../token/layout.ts";
import { validateTokenRecords } from "../token/validate.ts";
import type { RecordViews } from "../token/views.ts";
import { recordViews } from "../token/views.ts";
import type { EdgeSet } from "./edges.ts";
import { insertExplicitIds } from "./bulk-insert.ts";
import { BatchIdSet } from "./hash.ts";
import { IdTable } from "./id-table.ts";
import { KeyBuffer } from "./key-buffer.ts";
import type { TokenTable } from "./token-table.ts";
import type { DeleteResult, InsertOptions, InsertResult, TokenWriteOptions, WriteOptions, WriteResult } from "./types.ts";
import { StoreRule } from "./types.ts";

/** The parts of a shard store token writes need. */
export interface TokenStoreState {
  readonly tokens: TokenTable;
  readonly edges: EdgeSet;
  readonly shard: number;
  readonly shardCount: number;
  /** Largest domain-0 id ever stored; allocation continues above it (ids are never reused). */
  maxLocalId: number;
}

/**
 * Creates tokens from packed records. Id 0 gets a fresh id (> every domain-0 id stored so far,
 * ≡ shard mod shardCount, < 2^28), written back into `records` and returned in `ids`.
 * Existing ids are ALREADY_EXISTS, repeated ids duplicate_in_batch, foreign ids not_owned.
 */
export function insertTokens(st: TokenStoreState, records: Uint8Array, opts: InsertOptions = {}): InsertResult {
  const n = checkRecordLength(records);
  const strict = opts.strict ?? true;
  const allocate = opts.allocateIds ?? true;
  const skip = opts.skip;
  if (opts.validate === undefined && skip === undefined && n > 0) {
    const bulk = insertExplicitIds(st, records, n);
    if (bulk !== undefined) return bulk;
  }
  const accepted = new Uint8Array(n);
  const ids = new Uint32Array(n);
  // Value checks run inside the insert loop (one pass over the records); the violations of a record
  // that fails the fast combined test are built by validateTokenRecords, so they read exactly as
  // from a separate validation pass, and are listed before the store's own (ids), as before.
  const validate = opts.validate;
  const valueList: FieldViolation[] = [];
  const list: FieldViolation[] = [];
  const limits = validate?.limits;
  // Weights compare as ordered integer keys of their float bits: no float conversion per record,
  // and NaN (any sign) falls outside every range.
  const minWeightKey = limits === undefined ? 0 : floatLowerBoundKey(limits.minWeight);
  const maxWeightKey = limits === undefined ? 0 : floatUpperBoundKey(limits.maxWeight);
  const minRadius = limits?.minRadiusRaw ?? 0;
  const maxRadius = limits?.maxRadiusRaw ?? 0;
  const minStrength = limits?.minStrengthRaw ?? 0;
  const maxStrength = limits?.maxStrengthRaw ?? 0;
  const latest = validate === undefined || limits === undefined ? 0 : validate.nowSeconds + limits.maxFutureSeconds;
  const rec = recordViews(records);
  const u32 = rec.u32;
  const S = st.shardCount;
  const shard = st.shard;

  // The first allocated id lies above every domain-0 id of the batch; computed at the first id 0
  // (a batch of explicit ids, the common bulk case, never pays for the extra sweep).
  let nextId = -1;

  const tt = st.tokens;
  const size = tt.size;
  const colIds = tt.cols.ids;
  const fresh = size + n > tt.table.limit;
  const table = fresh ? IdTable.build(colIds, size, size + n, S) : tt.table;
  const entries = table.entries;
  const mask = table.mask;
  // Fused: when the batch fits the allocated slots (the common case under doubling) and both sides
  // allow 64-bit coordinate words, each accepted record is copied into slot size+k right after its
  // id check, while its cache line is still loaded. Slots ≥ size are not live and all zero, so a
  // batch that fails validation undoes its copies by zeroing them again.
  const alias = tt.alias;
  const coordDoubles = alias.coordDoubles;
  const fused = size + n <= tt.capacity && coordDoubles !== undefined && rec.u8.byteOffset % 8 === 0;
  const f64 = fused ? new Float64Array(rec.u8.buffer, rec.u8.byteOffset, n * 8) : undefined;
  const cols = tt.cols;
  const weightBits = alias.weightBits;
  // Ids accepted so far, slot size+j at pending[j + size - pendingBase].
  const pending = fused ? colIds : new Uint32Array(n);
  const pendingBase = fused ? 0 : size;
  let k = 0;
  let allocated = 0;
  let acceptedMax = st.maxLocalId;
  for (let i = 0; i < n; i++) {
    // `!` reads past the end as undefined, and undefined > 0 is false: an item not skipped.
    if (skip !== undefined && skip[i]! > 0) continue;
    const w = i << 4;
    let id = u32[w + 12]!;
    if (validate !== undefined) {
      const a = u32[w + 13]!;
      const b = u32[w + 14]!;
      const wb = (a >>> 16) | (b << 16);
      const weightKey = wb ^ ((wb >> 31) & 0x7fffffff);
      const radius = (b >>> 16) & 0xff;
      const strength = b >>> 24;
      if (
        !(
          (id !== 0 || allocate) &&
          weightKey >= minWeightKey &&
          weightKey <= maxWeightKey &&
          radius >= minRadius &&
          radius <= maxRadius &&
          strength >= minStrength &&
          strength <= maxStrength &&
          u32[w + 15]! <= latest
        )
      ) {
        const one = records.subarray(i * TOKEN_RECORD_SIZE, (i + 1) * TOKEN_RECORD_SIZE);
        for (const v of validateTokenRecords(one, validate.limits, validate.nowSeconds, { allowZeroId: allocate, firstIndex: i })) valueList.push(v);
        continue;
      }
    }
    if (id === 0) {
      if (!allocate) {
        list.push({ index: i, field: "id", value: "0", rule: StoreRule.idNonzero, description: "id must not be 0 here" });
        continue;
      }
      if (nextId < 0) nextId = firstFreeId(u32, n, st.maxLocalId, shard, S);
      if (nextId >= DOMAIN_ZERO_LIMIT) {
        list.push({ index: i, field: "id", value: "0", rule: StoreRule.idSpaceExhausted, description: `no free id below 2^28 on shard ${shard}` });
        continue;
      }
      id = nextId;
      nextId += S;
      allocated++;
    } else if (S !== 1 && id % S !== shard) {
      list.push({ index: i, field: "id", value: String(id), rule: StoreRule.notOwned, description: `id ${id} belongs to shard ${id % S}, not ${shard} (of ${S})` });
      continue;
    }
    let p = table.home(id);
    let clash = -1;
    for (;;) {
      const v = entries[p]!;
      if (v === 0) break;
      const s = v - 1;
      if ((s < size ? colIds[s] : pending[s - pendingBase]) === id) {
        clash = s;
        break;
      }
      p = (p + 1) & mask;
    }
    if (clash >= 0) {
      list.push(
        clash < size
          ? { index: i, field: "id", value: String(id), rule: StoreRule.alreadyExists, description: `token ${id} already exists; use update` }
          : { index: i, field: "id", value: String(id), rule: StoreRule.duplicateInBatch, description: `id ${id} appears more than once in the batch` },
      );
      continue;
    }
    const slot = size + k;
    entries[p] = slot + 1;
    pending[slot - pendingBase] = id;
    if (f64 !== undefined && coordDoubles !== undefined) {
      copyCoordsF64(f64, i, coordDoubles, slot);
      copyRecordTail(u32, w, cols, weightBits, slot);
    }
    if (id < DOMAIN_ZERO_LIMIT && id > acceptedMax) acceptedMax = id;
    ids[i] = id;
    accepted[i] = 1;
    k++;
  }
  const violations = valueList.length === 0 ? list : valueList.concat(list);
  if (strict && violations.length > 0) {
    // Undo in reverse order: each provisional entry filled an empty position and moved
    // nothing, so clearing them restores the table bit for bit.
    if (!fresh) {
      for (let j = k - 1; j >= 0; j--) {
        let p = table.home(pending[size + j - pendingBase]!);
        while (entries[p] !== size + j + 1) p = (p + 1) & mask;
        entries[p] = 0;
      }
    }
    if (fused) tt.clearSlots(size, size + k);
    throw ValidationError.of("token batch", violations);
  }
  if (fresh) tt.table = table;
  if (!fused) copyAccepted(st, rec, accepted, n, k, size, pending);
  if (allocated > 0) {
    const out = new DataView(records.buffer, records.byteOffset, records.byteLength);
    for (let i = 0; i < n; i++) {
      if (accepted[i] === 1 && u32[(i << 4) + 12] === 0) out.setUint32(i * TOKEN_RECORD_SIZE + TokenOffset.id, ids[i]!, true);
    }
  }
  tt.cols.size = size + k;
  st.maxLocalId = acceptedMax;
  return { applied: k, accepted, ids, violations };
}

/** The unfused copy of insertTokens: grows the columns, then copies the accepted records. */
function copyAccepted(st: TokenStoreState, rec: RecordViews, accepted: Uint8Array, n: number, k: number, size: number, slotIds: Uint32Array): void {
  const tt = st.tokens;
  if (tt.ensureCapacity(size + k)) st.edges.tokenCapacityChanged();
  const cols = tt.cols;
  if (k === n) {
    copyRecordsToColumns(rec, 0, n, cols, tt.alias, size);
  } else {
    for (let i = 0, j = size; i < n; i++) if (accepted[i] === 1) copyRecordsToColumns(rec, i, 1, cols, tt.alias, j++);
  }
  // Allocated ids (records with id 0) and explicit ones alike.
  cols.ids.set(slotIds.subarray(0, k), size);
}

/** The smallest id ≡ shard (mod S) above `maxLocalId` and every domain-0 id of the batch. */
function firstFreeId(u32: Uint32Array, n: number, maxLocalId: number, shard: number, S: number): number {
  let batchMax = maxLocalId;
  for (let i = 0; i < n; i++) {
    const id = u32[(i << 4) + 12]!;
    if (id < DOMAIN_ZERO_LIMIT && id > batchMax) batchMax = id;
  }
  return batchMax + 1 + ((((shard - ((batchMax + 1) % S)) % S) + S) % S);
}

/** Scratch pair reading a float32's raw bits (for the weight bounds' keys). */
const weightScratch = new Float32Array(1);
const weightBitsScratch = new Int32Array(weightScratch.buffer);

/**
 * Float32 bits as a signed integer whose order is the floats' order: negative floats have their
 * magnitude bits flipped, so consecutive keys are neighbouring floats (-0 is -1, +0 is 0) and NaNs
 * lie beyond ±Infinity.
 */
function orderKey(f32: number): number {
  weightScratch[0] = f32;
  const bits = weightBitsScratch[0]!;
  return bits ^ ((bits >> 31) & 0x7fffffff);
}

/** The key of the smallest float32 `w` with `w >= v` (so both zeros pass a bound of 0). */
function floatLowerBoundKey(v: number): number {
  if (Number.isNaN(v)) return Infinity; // nothing compares >= NaN
  if (v === 0) return -1;
  const f = Math.fround(v);
  return f < v ? orderKey(f) + 1 : orderKey(f);
}

/** The key of the largest float32 `w` with `w <= v`. */
function floatUpperBoundKey(v: number): number {
  if (Number.isNaN(v)) return -Infinity;
  if (v === 0) return 0;
  const f = Math.fround(v);
  return f > v ? orderKey(f) - 1 : orderKey(f);
}

/** Replaces existing tokens (every field) by id; a missing id is NOT_FOUND. */
export function updateTokens(st: TokenStoreState, records: Uint8Array, opts: TokenWriteOptions = {}): WriteResult {
  const n = checkRecordLength(records);
  const strict = opts.strict ?? true;
  const skip = opts.skip;
  const { invalid, list } = valueViolations(records, opts, false, n);
  const rec = recordViews(records);
  const u32 = rec.u32;
  const slots = new Int32Array(n).fill(-1);
  const dups = new BatchIdSet(n);
  for (let i = 0; i < n; i++) {
    if ((skip !== undefined && (skip[i] ?? 0) !== 0) || (invalid !== undefined && invalid[i] !== 0)) continue;
    const id = u32[(i << 4) + 12]!;
    const v = lookupViolation(st, id, i);
    if (v !== undefined) list.push(v);
    else if (dups.addOrGet(id, i) >= 0) {
      list.push({ index: i, field: "id", value: String(id), rule: StoreRule.duplicateInBatch, description: `id ${id} appears more than once in the batch` });
    } else slots[i] = st.tokens.slotOf(id);
  }
  if (strict && list.length > 0) throw ValidationError.of("token update batch", list);
  const accepted = new Uint8Array(n);
  let applied = 0;
  const tt = st.tokens;
  for (let i = 0; i < n; i++) {
    const s = slots[i]!;
    if (s < 0) continue;
    copyRecordsToColumns(rec, i, 1, tt.cols, tt.alias, s);
    accepted[i] = 1;
    applied++;
  }
  return { applied, accepted, violations: list };
}

/** Deletes tokens and every connection touching them; see DeleteResult for the remote keys. */
export function deleteTokens(st: TokenStoreState, ids: ArrayLike<number>, opts: WriteOptions = {}): DeleteResult {
  const n = ids.length;
  const strict = opts.strict ?? true;
  const skip = opts.skip;
  const list: FieldViolation[] = [];
  const ok = new Uint8Array(n);
  const dups = new BatchIdSet(n);
  for (let i = 0; i < n; i++) {
    if (skip !== undefined && (skip[i] ?? 0) !== 0) continue;
    const id = ids[i]!;
    const v = lookupViolation(st, id, i);
    if (v !== undefined) list.push(v);
    else if (dups.addOrGet(id, i) >= 0) {
      list.push({ index: i, field: "id", value: String(id), rule: StoreRule.duplicateInBatch, description: `id ${id} appears more than once in the batch` });
    } else ok[i] = 1;
  }
  if (strict && list.length > 0) throw ValidationError.of("token delete batch", list);
  const remoteIn = new KeyBuffer();
  const remoteOut = new KeyBuffer();
  let dropped = 0;
  let applied = 0;
  for (let i = 0; i < n; i++) {
    if (ok[i] === 0) continue;
    const id = ids[i]!;
    const slot = st.tokens.slotOf(id);
    dropped += st.edges.dropToken(slot, id, remoteIn, remoteOut);
    const moved = st.tokens.removeSlot(slot);
    if (moved >= 0) st.edges.slotMoved(moved, slot);
    applied++;
  }
  return {
    applied,
    accepted: ok,
    violations: list,
    droppedConnections: dropped,
    remoteIn: remoteIn.toKeys(),
    remoteOut: remoteOut.toKeys(),
  };
}

function valueViolations(
  records: Uint8Array,
  opts: TokenWriteOptions,
  allowZeroId: boolean,
  n: number,
): { invalid: Uint8Array | undefined; list: FieldViolation[] } {
  if (opts.validate === undefined) return { invalid: undefined, list: [] };
  const invalid = new Uint8Array(n);
  const list = validateTokenRecords(records, opts.validate.limits, opts.validate.nowSeconds, {
    allowZeroId,
    invalid,
    ...(opts.skip === undefined ? {} : { skip: opts.skip }),
  });
  return { invalid, list };
}

/** Why `id` cannot be updated or deleted here, or undefined when it exists. */
function lookupViolation(st: TokenStoreState, id: number, index: number): FieldViolation | undefined {
  if (id === 0) return { index, field: "id", value: "0", rule: StoreRule.idNonzero, description: "id must not be 0" };
  if (id % st.shardCount !== st.shard) {
    return { index, field: "id", value: String(id), rule: StoreRule.notOwned, description: `id ${id} belongs to shard ${id % st.shardCount}, not ${st.shard}` };
  }
  if (st.tokens.slotOf(id) < 0) return { index, field: "id", value: String(id), rule: StoreRule.notFound, description: `token ${id} does not exist` };
  return undefined;
}
