/**
 * Validation cost per record on 100 k-record batches against the compiled default constitution:
 * connection records (validateConnectionRecords) and, for the verdict step, splitValid.
 * `npm run bench -- guardian`. Figures: ns per record, best of several runs.
 */
import { CONNECTION_RECORD_SIZE, ConnectionOffset as O } from "../src/core/connection/layout.ts";
import { compileConstitution, defaultConstitution, splitValid, validateConnectionRecords } from "../src/core/constitution/index.ts";
import { bestOf, emit, gc, machine } from "./lib/report.ts";

const N = 100_000;
const REPEAT = 15;
const limits = compileConstitution(defaultConstitution());

/** A batch of valid connection records with varied values (deterministic). */
function connectionBatch(n: number, invalidEvery = 0): Uint8Array {
  const bytes = new Uint8Array(n * CONNECTION_RECORD_SIZE);
  const dv = new DataView(bytes.buffer);
  let seed = 12345;
  const rnd = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  for (let i = 0; i < n; i++) {
    const o = i * CONNECTION_RECORD_SIZE;
    dv.setUint32(o + O.source, i + 1, true);
    dv.setUint32(o + O.target, ((i + 7) % n) + 1, true);
    bytes[o + O.type] = Math.floor(rnd() * 0xb0);
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

const valid = connectionBatch(N);
const onePercentBad = connectionBatch(N, 100);
let sink = 0;

gc();
const tValid = bestOf(REPEAT, 5, () => {
  sink += validateConnectionRecords(valid, limits.connections).length;
});
emit("guardian.validate_connections_ns", (tValid * 1e9) / N, "ns/record", { records: N, invalid: 0, ...machine() });

gc();
const tBad = bestOf(REPEAT, 5, () => {
  const v = validateConnectionRecords(onePercentBad, limits.connections);
  sink += splitValid(v, N, false).rejectedCount;
});
emit("guardian.validate_connections_1pct_invalid_ns", (tBad * 1e9) / N, "ns/record", { records: N, invalid: N / 100 });

if (sink < 0) console.error(sink);
