/**
 * The latency-by-percentile chart of a report, as a standalone SVG (HdrHistogram's plot: the x
 * axis is 1/(1 − p) on a log scale, so p90, p99, p99.9 … are evenly spaced) and an HTML page with
 * the chart and the summary. No scripts, no external resources: it opens anywhere.
 */
import type { LoadReport } from "./report.ts";
import { formatReport } from "./report.ts";
import { formatLatency } from "./units.ts";

const W = 900;
const H = 480;
const PAD = { left: 80, right: 30, top: 50, bottom: 60 };

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** "Nice" upper bound of the y axis and its step (1/2/5 × 10^n). */
function niceAxis(max: number): { top: number; step: number } {
  if (!(max > 0)) return { top: 1, step: 0.2 };
  const rough = max / 5;
  const mag = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((f) => f * mag).find((s) => s >= rough) ?? 10 * mag;
  return { top: Math.ceil(max / step) * step, step };
}

export function latencyChartSvg(report: LoadReport): string {
  const points = report.curve;
  const nines = points.length === 0 ? 1 : Math.max(1, Math.ceil(Math.log10(1 / Math.max(1e-9, 1 - (points.at(-2)?.percentile ?? 90) / 100))));
  const xMax = nines + 0.5;
  const maxP99Slo = report.slo.find((v) => v.flag === "--max-p99")?.threshold;
  const yMaxUs = Math.max(1, ...points.map((p) => p.us), maxP99Slo ?? 0) * 1.05;
  const yAxis = niceAxis(yMaxUs / 1000);
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const x = (percentile: number): number => {
    const v = percentile >= 100 ? xMax : Math.min(xMax, Math.log10(1 / (1 - percentile / 100)));
    return PAD.left + (v / xMax) * plotW;
  };
  const y = (us: number): number => PAD.top + plotH - (us / 1000 / yAxis.top) * plotH;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  const title = `neurograph load ${report.scenario} (${report.mode} loop) — latency by percentile`;
  parts.push(`<text id="title" x="${W / 2}" y="24" text-anchor="middle" font-size="16">${escapeXml(title)}</text>`);
  // Grid and axes.
  for (let v = 0; v <= yAxis.top + 1e-9; v += yAxis.step) {
    const yy = y(v * 1000).toFixed(1);
    parts.push(`<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${yy}" y2="${yy}" stroke="#e5e5e5"/>`);
    parts.push(`<text class="y-tick" x="${PAD.left - 8}" y="${yy}" text-anchor="end" dominant-baseline="middle">${escapeXml(formatLatency(v * 1000))}</text>`);
  }
  for (let n = 0; n <= nines; n++) {
    const p = 100 * (1 - 10 ** -n);
    const xx = x(p).toFixed(1);
    const label = n === 0 ? "0%" : `${Number(p.toFixed(n))}%`;
    parts.push(`<line x1="${xx}" x2="${xx}" y1="${PAD.top}" y2="${PAD.top + plotH}" stroke="#e5e5e5"/>`);
    parts.push(`<text class="x-tick" x="${xx}" y="${PAD.top + plotH + 18}" text-anchor="middle">${label}</text>`);
  }
  parts.push(`<text class="x-tick" x="${x(100).toFixed(1)}" y="${PAD.top + plotH + 18}" text-anchor="middle">max</text>`);
  parts.push(`<line x1="${PAD.left}" x2="${PAD.left}" y1="${PAD.top}" y2="${PAD.top + plotH}" stroke="#333"/>`);
  parts.push(`<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${PAD.top + plotH}" y2="${PAD.top + plotH}" stroke="#333"/>`);
  parts.push(`<text x="${PAD.left + plotW / 2}" y="${H - 14}" text-anchor="middle">percentile</text>`);
  parts.push(`<text x="18" y="${PAD.top + plotH / 2}" text-anchor="middle" transform="rotate(-90 18 ${PAD.top + plotH / 2})">latency</text>`);
  if (maxP99Slo !== undefined) {
    const yy = y(maxP99Slo).toFixed(1);
    parts.push(`<line id="slo-p99" x1="${PAD.left}" x2="${W - PAD.right}" y1="${yy}" y2="${yy}" stroke="#d62728" stroke-dasharray="6 4"/>`);
    parts.push(`<text x="${W - PAD.right - 4}" y="${Number(yy) - 6}" text-anchor="end" fill="#d62728">SLO p99 ≤ ${escapeXml(formatLatency(maxP99Slo))}</text>`);
  }
  if (points.length > 0) {
    const coords = points.map((p) => `${x(p.percentile).toFixed(1)},${y(p.us).toFixed(1)}`).join(" ");
    parts.push(`<polyline id="curve" fill="none" stroke="#1f77b4" stroke-width="2" points="${coords}"/>`);
    for (const [name, us, p] of [["p50", report.latencyUs.p50, 50], ["p99", report.latencyUs.p99, 99], ["p99.9", report.latencyUs.p999, 99.9]] as const) {
      if (100 * (1 - 10 ** -nines) < p) continue;
      parts.push(`<circle cx="${x(p).toFixed(1)}" cy="${y(us).toFixed(1)}" r="3" fill="#1f77b4"/>`);
      parts.push(`<text class="marker" x="${(x(p) + 6).toFixed(1)}" y="${(y(us) - 6).toFixed(1)}">${name} ${escapeXml(formatLatency(us))}</text>`);
    }
  } else {
    parts.push(`<text x="${W / 2}" y="${H / 2}" text-anchor="middle">no measured operations</text>`);
  }
  parts.push("</svg>");
  return parts.join("\n");
}

export function reportHtml(report: LoadReport): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>neurograph load ${escapeXml(report.scenario)} — ${escapeXml(report.startedAt)}</title>
<style>body{font-family:sans-serif;margin:24px;color:#222}pre{background:#f6f6f6;padding:12px;overflow:auto}</style></head>
<body>
<h1>neurograph load ${escapeXml(report.scenario)}</h1>
${latencyChartSvg(report)}
<pre id="summary">${escapeXml(formatReport(report))}</pre>
</body></html>
`;
}
