/**
 * Parameters of the field engine as plain data. The constitution supplies them at run time;
 * the defaults below are its documented defaults. Lengths are in decoded units of each space
 * (raw / scale), the same units as token radii and connection preferred distances.
 */
import { type FieldViolation, ValidationError } from "../errors.ts";
import { SPACES } from "../token/columns.ts";
import { MIN_CELL_RAW, SPACE_SCALES } from "./geometry.ts";

export interface PhysicsParams {
  /** Bit s set = forces act in space s (bit 0 = L1 … bit 7 = L8). Default 0xff. */
  readonly activeSpaces: number;
  /** k: spring constant, multiplies rigidity · confidence · pull. Default 1. */
  readonly springConstant: number;
  /** c_rep: short-range repulsion constant (force units at distance 0, strength 1). Default 0.025. */
  readonly repulsionConstant: number;
  /** g: gravity towards the origin of each space, F = −g·x. Default 0.01. */
  readonly gravity: number;
  /** dt: displacement per step = F · dt before the temperature cap. Default 0.1. */
  readonly timeStep: number;
  /** T₀: largest displacement of a token per step and space, decoded units. Default 1. */
  readonly temperature: number;
  /** T ← T · cooling after every step. Default 0.99. */
  readonly cooling: number;
  /** Lower bound of T, so a running field keeps adapting to new writes. Default 0.02. */
  readonly minTemperature: number;
  /** Density-cell edge per space (semantic fields), decoded units. Default 0.5 in every space. */
  readonly cellSize: readonly number[];
}

export interface FieldParams {
  /**
   * A density cell is dense when it holds at least this many tokens per cubic decoded unit
   * (i.e. ⌈threshold × cell volume⌉ tokens, at least 1). Default 40.
   */
  readonly densityThreshold: number;
  /** A connected component of dense cells is a field when it has at least this many tokens. Default 8. */
  readonly minFieldTokens: number;
  /** Density-cell edge per space (shared with PhysicsParams.cellSize). */
  readonly cellSize: readonly number[];
  /** Spaces in which fields are detected (normally the physics active mask). */
  readonly spaces: number;
}

export const DEFAULT_PHYSICS_PARAMS: PhysicsParams = Object.freeze({
  activeSpaces: 0xff,
  springConstant: 1,
  repulsionConstant: 0.025,
  gravity: 0.01,
  timeStep: 0.1,
  temperature: 1,
  cooling: 0.99,
  minTemperature: 0.02,
  cellSize: Object.freeze([0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]),
});

export const DEFAULT_FIELD_PARAMS: FieldParams = Object.freeze({
  densityThreshold: 40,
  minFieldTokens: 8,
  cellSize: DEFAULT_PHYSICS_PARAMS.cellSize,
  spaces: DEFAULT_PHYSICS_PARAMS.activeSpaces,
});

/** The temperature of step `step` (0-based): max(minTemperature, T₀ · cooling^step). */
export function temperatureAt(params: PhysicsParams, step: number): number {
  return Math.max(params.minTemperature, params.temperature * Math.pow(params.cooling, step));
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

function checkCellSizes(v: FieldViolation[], field: string, cellSize: readonly number[]): void {
  if (cellSize.length !== SPACES) {
    v.push({ field, value: `${cellSize.length} values`, rule: "cell_size_count", description: `needs one cell size per space (${SPACES})` });
    return;
  }
  for (let s = 0; s < SPACES; s++) {
    const c = cellSize[s]!;
    const min = MIN_CELL_RAW / SPACE_SCALES[s]!;
    if (!Number.isFinite(c) || c < min || c > 65536 / SPACE_SCALES[s]!) {
      v.push({
        field: `${field}[${s}]`,
        value: String(c),
        rule: "cell_size_range",
        description: `cell size of space L${s + 1} must be between ${min} and ${65536 / SPACE_SCALES[s]!} decoded units`,
      });
    }
  }
}

/** Throws a ValidationError naming every bad value; returns the params unchanged otherwise. */
export function validatePhysicsParams(p: PhysicsParams): PhysicsParams {
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
  if (v.length > 0) throw ValidationError.of("physics parameters", v);
  return p;
}

export function validateFieldParams(p: FieldParams): FieldParams {
  const v: FieldViolation[] = [];
  if (!Number.isFinite(p.densityThreshold) || p.densityThreshold <= 0) {
    v.push({ field: "densityThreshold", value: String(p.densityThreshold), rule: "density_threshold", description: "must be a positive number (tokens per cubic decoded unit)" });
  }
  if (!Number.isInteger(p.minFieldTokens) || p.minFieldTokens < 1) {
    v.push({ field: "minFieldTokens", value: String(p.minFieldTokens), rule: "min_field_tokens", description: "must be an integer ≥ 1" });
  }
  if (!Number.isInteger(p.spaces) || p.spaces < 0 || p.spaces > 0xff) {
    v.push({ field: "spaces", value: String(p.spaces), rule: "space_mask", description: "must be an 8-bit mask" });
  }
  checkCellSizes(v, "cellSize", p.cellSize);
  if (v.length > 0) throw ValidationError.of("field parameters", v);
  return p;
}
