/**
 * The per-token half of a force step over a contiguous slot range [begin, end): spring forces
 * from the token's own CSR entries, plus the repulsion computed by `computeRepulsion`, plus
 * gravity; then the capped move and the fixed-point write-back into the output buffer
 * (double buffering: the input snapshot is never written).
 *
 * Spring of connection (a, b) with coefficient K = k · rigidity · confidence · pull, in each
 * space it is active in, with d = |x_b − x_a| (decoded units) and û the unit vector a → b:
 *   pull ≥ 0: F_a += K · (d − d₀) · û            (DESIGN §3.6: K·(d − d₀)/d·(x_b − x_a))
 *   pull < 0: F_a += K · max(0, d₀ − d) · û      (always pushes apart, up to d₀)
 * and the opposite on b (b's own entry computes it). At d = 0, û = unitDirection(id_a, id_b).
 * Gravity: F += −g · x. Move: Δ = F · dt, scaled down to |Δ| ≤ T; raw += Δ · scale rounded like
 * the token codec (ties away from zero), clamped to int16. Tokens with the LOCKED flag keep their position.
 */
import { COORDS_PER_TOKEN, SPACES } from "../token/columns.ts";
import { TOKEN_FLAGS } from "../token/flags.ts";
import { MAX_RAW_COORD, MIN_RAW_COORD, SCALES as SPACE_SCALES } from "../token/layout.ts";
import { roundHalfAway, unitDirection } from "./geometry.ts";
import type { ForceParams } from "./params.ts";
import type { ForceGraph } from "./springs.ts";

/** The numbers one step needs, derived from ForceParams and the step's temperature. */
export interface StepConstants {
  /** Active spaces, ascending; space `spaces[a]` uses repulsion columns 3a..3a+2. */
  readonly spaces: Int32Array;
  readonly springConstant: number;
  readonly repulsionConstant: number;
  readonly gravity: number;
  readonly timeStep: number;
  /** T of this step per active space (decoded units), aligned with `spaces`. */
  readonly temperature: Float64Array;
}

/**
 * The constants of one step. `temperature` is this step's T in decoded units, the same in every
 * space, or one value per space (8 values, e.g. T in cell sizes × each space's cell size).
 */
export function stepConstants(params: ForceParams, temperature: number | readonly number[]): StepConstants {
  const list: number[] = [];
  for (let s = 0; s < SPACES; s++) if ((params.activeSpaces & (1 << s)) !== 0) list.push(s);
  return {
    spaces: Int32Array.from(list),
    springConstant: params.springConstant,
    repulsionConstant: params.repulsionConstant,
    gravity: params.gravity,
    timeStep: params.timeStep,
    temperature: Float64Array.from(list, (s) => (typeof temperature === "number" ? temperature : (temperature[s] ?? 0))),
  };
}

/** Floats per slot in the repulsion buffer: 3 per active space. */
export function repulsionStride(constants: StepConstants): number {
  return constants.spaces.length * 3;
}

/**
 * Copies the active spaces' coordinates of slots [begin, end) into `packed` (stride
 * 3 × active spaces, list order): springs read their far endpoints from this compact copy,
 * which halves the memory touched by random accesses. Part of a step's first phase.
 */
export function packActivePositions(positions: Int16Array, constants: StepConstants, begin: number, end: number, packed: Int16Array): void {
  const spaceList = constants.spaces;
  const A = spaceList.length;
  const stride = A * 3;
  for (let i = begin; i < end; i++) {
    const src = i * STRIDE;
    const dst = i * stride;
    for (let a = 0; a < A; a++) {
      const o = src + spaceList[a]! * 3;
      packed[dst + a * 3] = positions[o]!;
      packed[dst + a * 3 + 1] = positions[o + 1]!;
      packed[dst + a * 3 + 2] = positions[o + 2]!;
    }
  }
}

export interface IntegrationInput {
  /** Snapshot, stride 24, every slot the springs reference (local and ghost). */
  readonly positions: Int16Array;
  /** The same snapshot's active coordinates, `packActivePositions`, every slot. */
  readonly packed: Int16Array;
  /** Token ids per slot (orientation of coincident pairs). */
  readonly ids: Uint32Array;
  /** Token flags per local slot (LOCKED tokens stay). */
  readonly flags: Uint16Array;
  readonly graph: ForceGraph;
  /** Repulsion per slot, stride `repulsionStride`; read only for spaces in `repulsionMask`. */
  readonly repulsion: Float32Array;
  /** Bit s set = the repulsion columns of space s hold this step's values. */
  readonly repulsionMask: number;
  readonly constants: StepConstants;
}

/** Scratch for `integrateRange`: 3 accumulators per active space, a direction, inverse scales. */
export interface IntegrationScratch {
  readonly force: Float64Array;
  readonly dir: Float64Array;
  readonly inv: Float64Array;
}

export function allocateIntegrationScratch(): IntegrationScratch {
  return { force: new Float64Array(SPACES * 3), dir: new Float64Array(3), inv: new Float64Array(SPACES) };
}

const INV_SCALES = Float64Array.from(SPACE_SCALES, (s) => 1 / s);
const SCALES = Float64Array.from(SPACE_SCALES);
// Imported bindings are read once into module constants. Loaded as ESM this changes nothing;
// loaded as CommonJS (tsx compiles a .ts file to CJS when the importer is CJS, e.g. a script
// outside this package) every read of an imported binding is a getter call V8 does not inline,
// which cost a fifth of a step there.
const STRIDE = COORDS_PER_TOKEN;
const LOCKED = TOKEN_FLAGS.LOCKED;
const MIN_RAW = MIN_RAW_COORD;
const MAX_RAW = MAX_RAW_COORD;
const round = roundHalfAway;
const direction = unitDirection;

/**
 * Moves tokens [begin, end) from `input.positions` into `output` (stride 24). Every coordinate
 * of the range is written (inactive spaces are copied). If `forcesOut` is given it receives the
 * total force per token (stride 3 × active spaces, decoded units), for tests and diagnostics.
 */
export function integrateRange(
  input: IntegrationInput,
  output: Int16Array,
  begin: number,
  end: number,
  scratch: IntegrationScratch,
  forcesOut?: Float64Array,
): void {
  const { positions, packed, ids, flags, graph, repulsion, repulsionMask, constants } = input;
  const { offsets, neighbor, coefficient, preferredDistance, spaces: edgeSpaces } = graph;
  const spaceList = constants.spaces;
  const A = spaceList.length;
  const stride = A * 3;
  const k = constants.springConstant;
  const g = constants.gravity;
  const dt = constants.timeStep;
  const temperature = constants.temperature;
  const dir = scratch.dir;
  const inv = scratch.inv;
  for (let a = 0; a < A; a++) inv[a] = INV_SCALES[spaceList[a]!]!;
  const withForces = forcesOut !== undefined;
  // Inactive spaces and locked tokens keep their coordinates: one block copy for the range.
  if (end > begin) output.set(positions.subarray(begin * STRIDE, end * STRIDE), begin * STRIDE);
  for (let i = begin; i < end; i++) {
    const base = i * STRIDE;
    const locked = (flags[i]! & LOCKED) !== 0;
    const e0 = offsets[i]!;
    const e1 = offsets[i + 1]!;
    const pi = i * stride;
    // One space at a time, the force in locals: the springs' far endpoints of every space sit in
    // the same `packed` cache line, so the later spaces read them from L1. Per token and space
    // the sum runs over the springs in CSR order, then repulsion, then gravity.
    for (let a = 0; a < A; a++) {
      const s = spaceList[a]!;
      const bit = 1 << s;
      const iv = inv[a]!;
      const ao = a * 3;
      const xi = packed[pi + ao]!;
      const yi = packed[pi + ao + 1]!;
      const zi = packed[pi + ao + 2]!;
      let fx = 0;
      let fy = 0;
      let fz = 0;
      for (let e = e0; e < e1; e++) {
        if ((edgeSpaces[e]! & bit) === 0) continue;
        const kc = k * coefficient[e]!;
        if (kc === 0) continue;
        const pj = neighbor[e]! * stride + ao;
        const dx = (packed[pj]! - xi) * iv;
        const dy = (packed[pj + 1]! - yi) * iv;
        const dz = (packed[pj + 2]! - zi) * iv;
        const d2 = dx * dx + dy * dy + dz * dz;
        const d0 = preferredDistance[e]!;
        if (d2 > 0) {
          const d = Math.sqrt(d2);
          const stretch = kc >= 0 ? d - d0 : d0 > d ? d0 - d : 0;
          const f = (kc * stretch) / d;
          fx += f * dx;
          fy += f * dy;
          fz += f * dz;
        } else {
          direction(ids[i]!, ids[neighbor[e]!]!, dir);
          const f = kc * (kc >= 0 ? -d0 : d0);
          fx += f * dir[0]!;
          fy += f * dir[1]!;
          fz += f * dir[2]!;
        }
      }
      if ((repulsionMask & bit) !== 0) {
        fx += repulsion[pi + ao]!;
        fy += repulsion[pi + ao + 1]!;
        fz += repulsion[pi + ao + 2]!;
      }
      fx -= g * xi * iv;
      fy -= g * yi * iv;
      fz -= g * zi * iv;
      if (withForces) {
        forcesOut[pi + ao] = fx;
        forcesOut[pi + ao + 1] = fy;
        forcesOut[pi + ao + 2] = fz;
      }
      if (locked) continue;
      let mx = fx * dt;
      let my = fy * dt;
      let mz = fz * dt;
      const m2 = mx * mx + my * my + mz * mz;
      const T = temperature[a]!;
      if (m2 > T * T) {
        const shrink = T / Math.sqrt(m2);
        mx *= shrink;
        my *= shrink;
        mz *= shrink;
      }
      const scale = SCALES[s]!;
      const o = base + s * 3;
      output[o] = clampRaw(round(xi + mx * scale));
      output[o + 1] = clampRaw(round(yi + my * scale));
      output[o + 2] = clampRaw(round(zi + mz * scale));
    }
  }
}

function clampRaw(v: number): number {
  return v < MIN_RAW ? MIN_RAW : v > MAX_RAW ? MAX_RAW : v;
}
