/**
 * Token flags (u16): bits 0-7 system flags, bits 8-11 entity type, bits 12-15 hierarchy level.
 * Token ids: bits 28-31 are the domain; the runtime allocates ids with domain 0.
 */
import { ValidationError } from "../errors.ts";

export const TOKEN_FLAGS = {
  ACTIVE: 0x0001,
  PERSISTENT: 0x0002,
  MUTABLE: 0x0004,
  SYNCHRONIZED: 0x0008,
  COMPRESSED: 0x0010,
  ENCRYPTED: 0x0020,
  DIRTY: 0x0040,
  LOCKED: 0x0080,
} as const;

export const SYSTEM_FLAGS_MASK = 0x00ff;
export const ENTITY_TYPE_MASK = 0x0f00;
export const ENTITY_TYPE_SHIFT = 8;
export const HIERARCHY_LEVEL_MASK = 0xf000;
export const HIERARCHY_LEVEL_SHIFT = 12;
export const MAX_HIERARCHY_LEVEL = 15;

export const EntityType = {
  Undefined: 0,
  Object: 1,
  Event: 2,
  State: 3,
  Process: 4,
  Concept: 5,
  Relation: 6,
  Pattern: 7,
  Rule: 8,
  Goal: 9,
  Memory: 10,
  Sensor: 11,
  Actuator: 12,
  Controller: 13,
  Buffer: 14,
  /** Bits value 15: not assigned to any type. */
  Reserved: 15,
} as const;
export type EntityType = (typeof EntityType)[keyof typeof EntityType];

export function entityTypeOf(flags: number): EntityType {
  return ((flags & ENTITY_TYPE_MASK) >>> ENTITY_TYPE_SHIFT) as EntityType;
}

/** Flags with the entity type replaced; other bits are kept. */
export function withEntityType(flags: number, type: EntityType): number {
  return ((flags & ~ENTITY_TYPE_MASK) | ((type & 0xf) << ENTITY_TYPE_SHIFT)) & 0xffff;
}

export function hierarchyLevelOf(flags: number): number {
  return (flags & HIERARCHY_LEVEL_MASK) >>> HIERARCHY_LEVEL_SHIFT;
}

/** Flags with the hierarchy level (0..15) replaced; other bits are kept. */
export function withHierarchyLevel(flags: number, level: number): number {
  if (!Number.isInteger(level) || level < 0 || level > MAX_HIERARCHY_LEVEL) {
    throw ValidationError.of("hierarchy level", [
      {
        field: "flags.level",
        value: String(level),
        rule: "level_range",
        description: `hierarchy level must be an integer in 0..${MAX_HIERARCHY_LEVEL}`,
      },
    ]);
  }
  return ((flags & ~HIERARCHY_LEVEL_MASK) | (level << HIERARCHY_LEVEL_SHIFT)) & 0xffff;
}

export function hasFlag(flags: number, flag: number): boolean {
  return (flags & flag) === flag;
}

export function withFlag(flags: number, flag: number, on: boolean): number {
  return (on ? flags | flag : flags & ~flag) & 0xffff;
}

export const DOMAIN_SHIFT = 28;
/** Ids the runtime allocates stay below this bound (domain bits 0). */
export const DOMAIN_ZERO_LIMIT = 2 ** DOMAIN_SHIFT;

export function domainOf(id: number): number {
  return (id >>> DOMAIN_SHIFT) & 0xf;
}
