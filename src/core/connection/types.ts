/**
 * Connection types: 176 values 0x00-0xAF in 11 categories of 16 (upper nibble). Types ≥ 0xB0
 * are invalid everywhere (the original silently treated them as Learnable).
 */
import { ValidationError } from "../errors.ts";
import type { ConnectionCategory} from "./layout.ts";
import { Mutability } from "./layout.ts";

/** Highest defined type. */
export const MAX_CONNECTION_TYPE = 0xaf;

export type ConnectionCategoryValue = (typeof ConnectionCategory)[keyof typeof ConnectionCategory];

export const CATEGORY_NAMES: readonly string[] = Object.freeze([
  "Semantic",
  "Causal",
  "Temporal",
  "Spatial",
  "Logical",
  "Associative",
  "Structural",
  "Functional",
  "Emotional",
  "Rule",
  "Dynamic",
]);

/** Default mutability per category index (type >> 4): facts are Immutable, experience Learnable. */
const DEFAULT_MUTABILITY: readonly Mutability[] = Object.freeze([
  Mutability.Immutable, // Semantic
  Mutability.Learnable, // Causal
  Mutability.Learnable, // Temporal
  Mutability.Immutable, // Spatial
  Mutability.Immutable, // Logical
  Mutability.Learnable, // Associative
  Mutability.Immutable, // Structural
  Mutability.Learnable, // Functional
  Mutability.Learnable, // Emotional
  Mutability.Immutable, // Rule
  Mutability.Learnable, // Dynamic
]);

export function isValidConnectionType(type: number): boolean {
  return Number.isInteger(type) && type >= 0 && type <= MAX_CONNECTION_TYPE;
}

/** The category (upper nibble, e.g. 0x50 Associative) of a valid type. */
export function categoryOf(type: number): ConnectionCategoryValue {
  if (!isValidConnectionType(type)) {
    throw ValidationError.of("connection type", [
      { field: "type", value: String(type), rule: "type_defined", description: "connection types are 0x00..0xAF (11 categories of 16)" },
    ]);
  }
  return (type & 0xf0) as ConnectionCategoryValue;
}

export function categoryName(type: number): string {
  return CATEGORY_NAMES[categoryOf(type) >> 4]!;
}

/** Mutability a new connection of `type` gets unless the caller says otherwise. */
export function defaultMutability(type: number): Mutability {
  return DEFAULT_MUTABILITY[categoryOf(type) >> 4]!;
}

export function isValidMutability(m: number): m is Mutability {
  return m === Mutability.Immutable || m === Mutability.Learnable || m === Mutability.Hypothesis;
}
