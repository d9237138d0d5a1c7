/** Text output of the client commands: aligned tables and token rows. */
import { entityTypeName, type SpaceName, type Token } from "../../client/index.ts";

/** Left-aligned columns separated by two spaces; numbers right-aligned. */
export function table(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cells = [header, ...rows.map((r) => r.map((c) => (typeof c === "number" ? formatNumber(c) : c)))];
  const numeric = header.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === "number"));
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  return cells
    .map((r) =>
      r
        .map((c, i) => (numeric[i] === true ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/** Up to 6 significant digits, no trailing zeros: 0.25, 1.5, 123456, 0.000123. */
export function formatNumber(n: number): string {
  if (Number.isInteger(n)) return String(n);
  return String(Number(n.toPrecision(6)));
}

/** `1.2 GiB`, `512 B`. */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
}

/** The spaces where a token is not at the origin: `l1=(1, 2, 3) l8=(0.5, 0, 0)`. */
export function formatCoords(t: Token): string {
  const parts: string[] = [];
  for (const [space, p] of Object.entries(t.coords) as [SpaceName, readonly number[]][]) {
    if (p.some((v) => v !== 0)) parts.push(`${space}=(${p.map(formatNumber).join(", ")})`);
  }
  return parts.length === 0 ? "origin" : parts.join(" ");
}

export const TOKEN_HEADER = ["id", "type", "level", "weight", "radius", "strength", "flags", "timestamp", "coords"] as const;

export function tokenRow(t: Token): (string | number)[] {
  return [
    t.id,
    entityTypeName(t.entityType),
    t.level,
    t.weight,
    t.fieldRadius,
    Number(t.fieldStrength.toFixed(3)),
    `0x${t.systemFlags.toString(16).padStart(2, "0")}`,
    new Date(t.timestamp * 1000).toISOString().replace(".000Z", "Z"),
    formatCoords(t),
  ];
}

/** A token as JSON-friendly data (coords per space). */
export function tokenJson(t: Token): Record<string, unknown> {
  return { ...t, entityTypeName: entityTypeName(t.entityType) };
}
