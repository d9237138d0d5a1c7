/**
 * Validation cost per record on 100 k-record batches against the compiled default constitution.
 * `npm run bench -- guardian`. Figures are ns per record, best of several runs:
 * - guardian.validate_connections_ns: all valid (the common case; nothing is allocated);
 * - guardian.validate_connections_1pct_invalid_ns: 1 % invalid, including building the
 *   violations and the verdict (splitValid);
 * - guardian.validate_tokens_ns: the token validator of the core store (src/core/token/validate.ts),
 *   when that module is present in this tree.
 */
import { CONNECTION_RECORD_SIZE, ConnectionOffset as O } from "../src/core/connection/layout.ts";
import { compileConstitution, defaultConstitution, splitValid, validateConnectionRecords } from "../src/core/constitution/index.ts";
import type { FieldViolation } from "../src/core/errors.ts";
import type { TokenLimits } from "../src/core/limits.ts";
import { bestOf, emit, gc, machine } from "./lib/report.ts";

const N = 100_000;
const REPEAT = 20;
const compiled = compileConstitution(defaultConstitution());
const limits = compiled.connections;

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 2 ** 32;
  };
}

/** A batch of valid connection records with varied values (deterministic). */
function connectionBatch(n: number, invalidEvery = 0): Uint8Array {
  const bytes = new Uint8Array(n * CONNECTION_RECORD_SIZE);
  const dv = new DataView(bytes.buffer);
  const rnd = lcg(12345);
  for (let i = 0; i < n; i++) {
    const o = i * CONNECTION_RECORD_SIZE;
    dv.setUint32(o + O.source, i + 1, true);
    dv.setUint32(o + O.target, ((i + 7) % n) + 1, true);
    bytes[o + O.type] = Math.floor(rnd() * 0xb0);
    dv.setUint16(o + O.flags, 0x0001, true);
    bytes[o + O.mutability] = i % 3;
    dv.setFloat32(o + O.rigidity, rnd(), true);
    dv.setFloat32(o + O.pullStrength, rnd() * 20 - 10, true);
    dv.setFloat32(o + O.preferredDistance, 0.01 + rnd() * 99, true);
    dv.setFloat32(o + O.confidence, rnd(), true);
    dv.setFloat32(o + O.learningRate, rnd() * 0.2, true);
    dv.setFloat32(o + O.decayRate, rnd() * 0.1, true);
    dv.setUint32(o + O.evidenceCount, 20, true);
    dv.setUint32(o + O.successCount, 10, true);
    if (invalidEvery > 0 && i % invalidEvery === 0) dv.setFloat32(o + O.pullStrength, 50, true);
  }
  return bytes;
}

let sink = 0;
const perRecord = (seconds: number): number => (seconds * 1e9) / N;

const valid = connectionBatch(N);
gc();
const tValid = bestOf(REPEAT, 5, () => {
  sink += validateConnectionRecords(valid, limits).length;
});
emit("guardian.validate_connections_ns", perRecord(tValid), "ns/record", { records: N, invalid: 0, ...machine() });

const onePercentBad = connectionBatch(N, 100);
gc();
const tBad = bestOf(REPEAT, 5, () => {
  const v = validateConnectionRecords(onePercentBad, limits);
  sink += splitValid(v, N, compiled.strict).rejectedCount;
});
emit("guardian.validate_connections_1pct_invalid_ns", perRecord(tBad), "ns/record", { records: N, invalid: N / 100 });

// The token validator belongs to the core store; measure it when it is in this tree.
type ValidateTokens = (records: Uint8Array, limits: TokenLimits, nowSeconds: number) => FieldViolation[];
const tokenModule = "../src/core/token/validate.ts";
const loaded: unknown = await import(tokenModule).catch(() => undefined);
const validateTokens = (loaded as { validateTokenRecords?: unknown } | undefined)?.validateTokenRecords;
if (typeof validateTokens === "function") {
  const run = validateTokens as ValidateTokens;
  const bytes = new Uint8Array(N * 64);
  const dv = new DataView(bytes.buffer);
  const rnd = lcg(777);
  const now = 1_700_000_000;
  for (let i = 0; i < N; i++) {
    const o = i * 64;
    for (let c = 0; c < 24; c++) dv.setInt16(o + c * 2, Math.floor(rnd() * 2000) - 1000, true);
    dv.setUint32(o + 48, i + 1, true);
    dv.setUint16(o + 52, 0x0001, true);
    dv.setFloat32(o + 54, rnd(), true);
    bytes[o + 58] = Math.floor(rnd() * 256);
    bytes[o + 59] = Math.floor(rnd() * 256);
    dv.setUint32(o + 60, now - Math.floor(rnd() * 1000), true);
  }
  gc();
  const tTokens = bestOf(REPEAT, 5, () => {
    sink += run(bytes, compiled.tokens, now).length;
  });
  emit("guardian.validate_tokens_ns", perRecord(tTokens), "ns/record", { records: N, invalid: 0 });
} else {
  console.error("guardian.validate: src/core/token/validate.ts not in this tree; token figure skipped");
}

if (sink < 0) console.error(sink);
