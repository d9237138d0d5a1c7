/** Synthetic packed records and machine-state probes shared by the core benchmarks. */
import { CONNECTION_FLAGS, CONNECTION_RECORD_SIZE, ConnectionOffset, Mutability } from "../../src/core/connection/index.ts";
import { TOKEN_RECORD_SIZE, TokenOffset } from "../../src/core/token/index.ts";

/** Deterministic xorshift32. */
export function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>>= 0);
  };
}

/** `n` token records with ids firstId, firstId+step, … (0 ids when firstId is 0) and random coordinates. */
export function tokenRecords(n: number, firstId: number, step = 1, seed = 12345): Uint8Array {
  const out = new Uint8Array(n * TOKEN_RECORD_SIZE);
  const dv = new DataView(out.buffer);
  const rnd = rng(seed);
  for (let i = 0; i < n; i++) {
    const b = i * TOKEN_RECORD_SIZE;
    for (let k = 0; k < 24; k += 2) dv.setUint32(b + k * 2, rnd(), true);
    dv.setUint32(b + TokenOffset.id, firstId === 0 ? 0 : firstId + i * step, true);
    dv.setUint16(b + TokenOffset.flags, 0x0101, true);
    dv.setFloat32(b + TokenOffset.weight, 0.5, true);
    dv.setUint8(b + TokenOffset.fieldRadius, 100);
    dv.setUint8(b + TokenOffset.fieldStrength, 200);
    dv.setUint32(b + TokenOffset.timestamp, 1_700_000_000, true);
  }
  return out;
}

/** Rewrites the ids of a batch of token records in place: first, first+step, … */
export function setIds(records: Uint8Array, first: number, step = 1): void {
  const u32 = new Uint32Array(records.buffer, records.byteOffset, records.byteLength >>> 2);
  for (let i = 0, n = records.byteLength >>> 6; i < n; i++) u32[(i << 4) + 12] = first + i * step;
}

/** `degree` out-connections per source token 1..tokens (distinct targets), as packed records. */
export function connectionRecords(tokens: number, degree: number, seed = 777): Uint8Array {
  const n = tokens * degree;
  const out = new Uint8Array(n * CONNECTION_RECORD_SIZE);
  const dv = new DataView(out.buffer);
  const rnd = rng(seed);
  const O = ConnectionOffset;
  for (let i = 0; i < n; i++) {
    const b = i * CONNECTION_RECORD_SIZE;
    const src = 1 + Math.floor(i / degree);
    const k = i % degree;
    // distinct targets per source: a random base plus k, never the source itself
    const base = k === 0 ? rnd() % tokens : 0;
    const dst = 1 + ((src + (base === 0 ? 0 : base) + k * 104729) % tokens);
    dv.setUint32(b + O.source, src, true);
    dv.setUint32(b + O.target, dst === src ? (dst % tokens) + 1 : dst, true);
    dv.setUint8(b + O.type, 0x50 + k);
    dv.setUint16(b + O.flags, CONNECTION_FLAGS.ACTIVE, true);
    dv.setUint8(b + O.mutability, Mutability.Learnable);
    dv.setFloat32(b + O.rigidity, 0.5, true);
    dv.setFloat32(b + O.pullStrength, 1, true);
    dv.setFloat32(b + O.preferredDistance, 1, true);
    dv.setFloat32(b + O.confidence, 0.5, true);
    dv.setFloat32(b + O.learningRate, 0.125, true);
    dv.setFloat32(b + O.decayRate, 0.0625, true);
    dv.setUint32(b + O.createdAt, 1_700_000_000, true);
    dv.setUint32(b + O.updatedAt, 1_700_000_000, true);
  }
  return out;
}

function sumOnce(a: Uint32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s = (s + a[i]!) | 0;
  return s;
}

/**
 * Machine-state probes attached to figures: ns per element of a plain typed-array sum (CPU speed
 * and contention; ≈ 0.3-0.5 ns on an idle 2.5 GHz core), and ns to fault in 64 bytes of fresh
 * memory (the kernel's page-fault cost, paid by every store that grows into new memory).
 */
export function probes(): { calibration_ns_per_add: number; fresh_memory_ns_per_64b: number } {
  const a = new Uint32Array(1 << 16).map((_, i) => i);
  let s = 0;
  let best = Infinity;
  for (let r = 0; r < 300; r++) {
    const t0 = process.hrtime.bigint();
    s ^= sumOnce(a);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / a.length);
  }
  const t1 = process.hrtime.bigint();
  const m = new Uint8Array(64 << 20);
  for (let i = 0; i < m.length; i += 4096) m[i] = s & 1;
  const fault = Number(process.hrtime.bigint() - t1) / (m.length / 64);
  return { calibration_ns_per_add: Number(best.toFixed(3)), fresh_memory_ns_per_64b: Number(fault.toFixed(2)) };
}
