/**
 * A dependency-free progress line for long client operations, on stderr:
 * - on a TTY, one line redrawn in place (at most 10 times a second):
 *     [########------------]  41%  123456 tokens  45.2k tokens/s  ETA 3s
 * - otherwise, a plain line every `intervalMs` (default 2 s), so logs stay readable;
 * - nothing with `--quiet`.
 * The fraction (and so the bar and ETA) is known when the input size is (a file); from a pipe
 * only the count and the rate are shown.
 */

export type ProgressMode = "tty" | "lines" | "off";

export interface ProgressState {
  readonly done: number;
  readonly elapsedMs: number;
  /** 0..1 when the total is known. */
  readonly fraction?: number;
  readonly unit: string;
}

/** `45.2k`, `1.2M`: a rate or count with a metric suffix. */
export function compact(n: number): string {
  if (!Number.isFinite(n)) return "?";
  const abs = Math.abs(n);
  if (abs >= 1e9) return `${(n / 1e9).toFixed(1)}G`;
  if (abs >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (abs >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return String(Math.round(n));
}

/** `3s`, `2m05s`, `1h02m`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "?";
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** The text of one progress line (without control characters). */
export function renderProgress(p: ProgressState, barWidth = 20): string {
  const rate = p.elapsedMs > 0 ? (p.done * 1000) / p.elapsedMs : 0;
  const parts: string[] = [];
  if (p.fraction !== undefined) {
    const f = Math.min(1, Math.max(0, p.fraction));
    const filled = Math.round(f * barWidth);
    parts.push(`[${"#".repeat(filled)}${"-".repeat(barWidth - filled)}]`, `${String(Math.floor(f * 100)).padStart(3)}%`);
  }
  parts.push(`${p.done} ${p.unit}`, `${compact(rate)} ${p.unit}/s`);
  if (p.fraction !== undefined && p.fraction > 0 && p.fraction < 1) {
    parts.push(`ETA ${formatDuration((p.elapsedMs * (1 - p.fraction)) / p.fraction)}`);
  } else {
    parts.push(formatDuration(p.elapsedMs));
  }
  return parts.join("  ");
}

export interface ProgressOptions {
  readonly mode: ProgressMode;
  readonly unit: string;
  readonly write?: (text: string) => void;
  readonly intervalMs?: number;
  readonly now?: () => number;
}

export class ProgressLine {
  readonly #mode: ProgressMode;
  readonly #unit: string;
  readonly #write: (text: string) => void;
  readonly #intervalMs: number;
  readonly #now: () => number;
  readonly #start: number;
  #lastDraw = -Infinity;
  #drawn = false;

  constructor(options: ProgressOptions) {
    this.#mode = options.mode;
    this.#unit = options.unit;
    this.#write = options.write ?? ((text) => process.stderr.write(text));
    this.#intervalMs = options.intervalMs ?? (options.mode === "tty" ? 100 : 2000);
    this.#now = options.now ?? Date.now;
    this.#start = this.#now();
    // Plain lines start after one interval: short runs print none.
    if (this.#mode === "lines") this.#lastDraw = this.#start;
  }

  /** `tty` on a terminal, `lines` otherwise, `off` when quiet. */
  static modeFor(quiet: boolean, stream: { isTTY?: boolean } = process.stderr): ProgressMode {
    if (quiet) return "off";
    return stream.isTTY === true ? "tty" : "lines";
  }

  /** Reports progress; drawn at most once per interval. */
  update(done: number, fraction?: number): void {
    if (this.#mode === "off") return;
    const now = this.#now();
    if (now - this.#lastDraw < this.#intervalMs) return;
    this.#lastDraw = now;
    this.#draw(done, fraction, now);
  }

  /** Draws the final state and ends the line. */
  finish(done: number, fraction?: number): void {
    if (this.#mode === "off") return;
    if (this.#mode === "lines" && !this.#drawn) return;
    this.#draw(done, fraction, this.#now());
    if (this.#mode === "tty") this.#write("\n");
  }

  #draw(done: number, fraction: number | undefined, now: number): void {
    const text = renderProgress({ done, elapsedMs: now - this.#start, unit: this.#unit, ...(fraction === undefined ? {} : { fraction }) });
    this.#drawn = true;
    // \r + "erase line" redraws in place on a terminal.
    this.#write(this.#mode === "tty" ? `\r\x1b[2K${text}` : `${text}\n`);
  }
}
