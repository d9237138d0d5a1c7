/**
 * An SVG picture of one space: the x-y projection of every token, a dot per token coloured by
 * the field it belongs to (grey when none), the relations as faint lines, and a legend naming the
 * largest fields. Plain text, no dependencies; coordinates in the file are pixels.
 */

/** 20 distinguishable colours (Tableau 20 order: strong shades first). */
export const PALETTE: readonly string[] = Object.freeze([
  "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f",
  "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#9edae5", "#dbdb8d", "#393b79",
]);
export const NO_FIELD_COLOUR = "#d0d0d0";

export interface SpacePicture {
  readonly title: string;
  /** x, y of token i at [2i], [2i + 1], decoded units. */
  readonly xy: Float64Array;
  /** Legend entry index of token i, or −1 for a token in no field shown. */
  readonly colourOf: Int32Array;
  /** Legend entries (field labels), at most PALETTE.length; entry k has colour PALETTE[k]. */
  readonly legend: readonly string[];
  /** Lines between tokens: edges[2e], edges[2e + 1] are token indices. */
  readonly edges?: Uint32Array;
}

function esc(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");
}

const WIDTH = 1000;
const HEIGHT = 720;
const PLOT = 680;
const MARGIN = 20;

export function renderSpaceSvg(p: SpacePicture): string {
  const n = p.colourOf.length;
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (let i = 0; i < n; i++) {
    const x = p.xy[2 * i]!;
    const y = p.xy[2 * i + 1]!;
    if (x < minX) minX = x;
    if (x > maxX) maxX = x;
    if (y < minY) minY = y;
    if (y > maxY) maxY = y;
  }
  const span = Math.max(maxX - minX, maxY - minY, 1e-6);
  const k = (PLOT - 2 * MARGIN) / span;
  const px = (i: number): string => (MARGIN + (p.xy[2 * i]! - minX) * k).toFixed(1);
  // SVG's y axis points down; flip it so the picture reads like a plot.
  const py = (i: number): string => (PLOT - MARGIN - (p.xy[2 * i + 1]! - minY) * k).toFixed(1);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif">`,
    `<title>${esc(p.title)}</title>`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    `<text x="${MARGIN}" y="${HEIGHT - 12}" font-size="13" fill="#333">${esc(p.title)}</text>`,
  ];
  if (p.edges !== undefined && p.edges.length > 0) {
    const path: string[] = [];
    for (let e = 0; e + 1 < p.edges.length; e += 2) path.push(`M${px(p.edges[e]!)} ${py(p.edges[e]!)}L${px(p.edges[e + 1]!)} ${py(p.edges[e + 1]!)}`);
    out.push(`<path d="${path.join("")}" stroke="#000" stroke-opacity="0.08" stroke-width="0.6" fill="none"/>`);
  }
  out.push(`<g stroke="#ffffff" stroke-width="0.4">`);
  // Unfielded tokens first, so the coloured ones are drawn over them.
  for (const fielded of [false, true]) {
    for (let i = 0; i < n; i++) {
      const c = p.colourOf[i]!;
      if (c >= 0 !== fielded) continue;
      out.push(`<circle cx="${px(i)}" cy="${py(i)}" r="3" fill="${c >= 0 ? PALETTE[c % PALETTE.length]! : NO_FIELD_COLOUR}"/>`);
    }
  }
  out.push(`</g>`);
  const lx = PLOT + 10;
  out.push(`<g font-size="12" fill="#222">`, `<text x="${lx}" y="${MARGIN + 4}" font-weight="bold">Fields (largest first)</text>`);
  p.legend.forEach((label, k) => {
    const y = MARGIN + 24 + k * 20;
    out.push(`<rect x="${lx}" y="${y - 10}" width="12" height="12" fill="${PALETTE[k % PALETTE.length]!}"/>`, `<text x="${lx + 18}" y="${y}">${esc(label)}</text>`);
  });
  const y = MARGIN + 24 + p.legend.length * 20;
  out.push(`<rect x="${lx}" y="${y - 10}" width="12" height="12" fill="${NO_FIELD_COLOUR}"/>`, `<text x="${lx + 18}" y="${y}">in no field</text>`, `</g>`, `</svg>`, ``);
  return out.join("\n");
}
