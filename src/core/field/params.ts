/**
 * Parameters of the field engine as plain data. The constitution supplies them at run time
 * (`compiled.physics` is structurally a ForceParams); the defaults below are the values the
 * planted-structure tests are tuned with. Lengths are in decoded units of each space
 * (raw / scale), the units of token radii and connection preferred distances; temperatures are
 * in cell sizes of each space, as in the constitution.
 */
import { type FieldViolation, ValidationError } from "../errors.ts";
import { SPACES } from "../token/columns.ts";
import { SCALES } from "../token/layout.ts";
import { MIN_CELL_RAW } from "./geometry.ts";

export interface ForceParams {
  /** Bit s set = forces act in space s (bit 0 = L1 … bit 7 = L8). Default 0xff. */
  readonly activeSpaces: number;
  /** k: spring constant, multiplies rigidity · confidence · pull. Default 1. */
  readonly springConstant: number;
  /** c_rep: short-range repulsion constant (force at distance 0 from a strength-1 token). Default 0.025. */
  readonly repulsionConstant: number;
  /** g: gravity towards the origin of each space, F = −g·x. Default 0.01. */
  readonly gravity: number;
  /** dt: displacement per step = F · dt before the temperature cap. Default 0.1. */
  readonly timeStep: number;
  /** T₀: largest displacement of a token per step, in cell sizes of each space. Default 2. */
  readonly temperature: number;
  /** T ← T · cooling after every step. Default 0.99. */
  readonly cooling: number;
  /** Lower bound of T (cell sizes), so a running field keeps adapting to writes. Default 0.04. */
  readonly minTemperature: number;
  /**
   * Cell edge per space, decoded units: density cells of field detection and the unit of the
   * temperature. (Repulsion cell lists size themselves from the largest radius, which keeps
   * them exact.) Default 0.5 in every space.
   */
  readonly cellSize: ArrayLike<number>;
}

export interface FieldDetectionParams {
  /** A density cell is dense when it holds at least this many tokens. Default 5. */
  readonly densityThresholdTokens: number;
  /** A connected component of dense cells is a field when it has at least this many tokens. Default 8. */
  readonly minFieldTokens: number;
  /** Density-cell edge per space (ForceParams.cellSize). */
  readonly cellSize: ArrayLike<number>;
  /** Spaces in which fields are detected (normally ForceParams.activeSpaces). */
  readonly spaces: number;
}

const DEFAULT_CELL_SIZE: readonly number[] = Object.freeze([0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]);

export const DEFAULT_FORCE_PARAMS: ForceParams = Object.freeze({
  activeSpaces: 0xff,
  springConstant: 1,
  repulsionConstant: 0.025,
  gravity: 0.01,
  timeStep: 0.1,
  temperature: 2,
  cooling: 0.99,
  minTemperature: 0.04,
  cellSize: DEFAULT_CELL_SIZE,
});

export const DEFAULT_FIELD_DETECTION_PARAMS: FieldDetectionParams = Object.freeze({
  densityThresholdTokens: 5,
  minFieldTokens: 8,
  cellSize: DEFAULT_CELL_SIZE,
  spaces: DEFAULT_FORCE_PARAMS.activeSpaces,
});

/** T of step `step` (0-based) in cell sizes: max(minTemperature, T₀ · cooling^step). */
export function temperatureAt(params: ForceParams, step: number): number {
  return Math.max(params.minTemperature, params.temperature * Math.pow(params.cooling, step));
}

/** T of step `step` per space in decoded units (cell sizes × cell size), for `stepConstants`. */
export function spaceTemperaturesAt(params: ForceParams, step: number): number[] {
  const t = temperatureAt(params, step);
  return Array.from({ length: SPACES }, (_, s) => t * (params.cellSize[s] ?? 0));
}

/** Indices of the spaces whose bit is set in `mask`, ascending. */
export function spacesOf(mask: number): number[] {
  const out: number[] = [];
  for (let s = 0; s < SPACES; s++) if ((mask & (1 << s)) !== 0) out.push(s);
  return out;
}

function finite(v: FieldViolation[], field: string, value: number, min: number, max: number, rule: string): void {
  if (!Number.isFinite(value) || value < min || value > max) {
    v.push({ field, value: String(value), rule, description: `must be a finite number in [${min}, ${max}]` });
  }
}

function checkCellSizes(v: FieldViolation[], field: string, cellSize: ArrayLike<number>): void {
  if (cellSize.length !== SPACES) {
    v.push({ field, value: `${cellSize.length} values`, rule: "cell_size_count", description: `needs one cell size per space (${SPACES})` });
    return;
  }
  for (let s = 0; s < SPACES; s++) {
    const c = cellSize[s]!;
    const min = MIN_CELL_RAW / SCALES[s]!;
    if (!Number.isFinite(c) || c < min || c > 65536 / SCALES[s]!) {
      v.push({
        field: `${field}[${s}]`,
        value: String(c),
        rule: "cell_size_range",
        description: `cell size of space L${s + 1} must be between ${min} and ${65536 / SCALES[s]!} decoded units (${MIN_CELL_RAW} raw units or more)`,
      });
    }
  }
}

/** Throws a ValidationError naming every bad value; returns the params unchanged otherwise. */
export function validateForceParams(p: ForceParams): ForceParams {
  const v: FieldViolation[] = [];
  if (!Number.isInteger(p.activeSpaces) || p.activeSpaces < 0 || p.activeSpaces > 0xff) {
    v.push({ field: "activeSpaces", value: String(p.activeSpaces), rule: "space_mask", description: "must be an 8-bit mask" });
  }
  finite(v, "springConstant", p.springConstant, 0, 1e6, "spring_constant_range");
  finite(v, "repulsionConstant", p.repulsionConstant, 0, 1e6, "repulsion_constant_range");
  finite(v, "gravity", p.gravity, 0, 1e6, "gravity_range");
  finite(v, "timeStep", p.timeStep, 0, 1e6, "time_step_range");
  finite(v, "temperature", p.temperature, 0, 65536, "temperature_range");
  finite(v, "cooling", p.cooling, 0, 1, "cooling_range");
  finite(v, "minTemperature", p.minTemperature, 0, 65536, "temperature_range");
  checkCellSizes(v, "cellSize", p.cellSize);
  if (v.length > 0) throw ValidationError.of("force parameters", v);
  return p;
}

export function validateFieldDetectionParams(p: FieldDetectionParams): FieldDetectionParams {
  const v: FieldViolation[] = [];
  if (!Number.isInteger(p.densityThresholdTokens) || p.densityThresholdTokens < 1) {
    v.push({
      field: "densityThresholdTokens",
      value: String(p.densityThresholdTokens),
      rule: "density_threshold",
      description: "must be an integer ≥ 1 (tokens per cell)",
    });
  }
  if (!Number.isInteger(p.minFieldTokens) || p.minFieldTokens < 1) {
    v.push({ field: "minFieldTokens", value: String(p.minFieldTokens), rule: "min_field_tokens", description: "must be an integer ≥ 1" });
  }
  if (!Number.isInteger(p.spaces) || p.spaces < 0 || p.spaces > 0xff) {
    v.push({ field: "spaces", value: String(p.spaces), rule: "space_mask", description: "must be an 8-bit mask" });
  }
  checkCellSizes(v, "cellSize", p.cellSize);
  if (v.length > 0) throw ValidationError.of("field detection parameters", v);
  return p;
}
