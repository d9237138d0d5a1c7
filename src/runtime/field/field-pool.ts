/**
 * `FieldPool`: the node's Piscina pool of field worker threads (DESIGN §3.6), shared by every
 * shard's field work. One `step` runs the phases of `fieldStep` (core) on the pool:
 *  1. a cell grid per active space, and the packed active coordinates over slot ranges;
 *  2. repulsion per space over cell ranges of about equal entry counts;
 *  3. integration over contiguous slot ranges, into the second position buffer.
 * Positions, grids and forces live in SharedArrayBuffers: tasks carry views, nothing is copied.
 * Every token's result is an exact sum (repulsion) or computed by one task in a fixed order
 * (springs, integration), so positions are bit-identical to `fieldStep` whatever the number of
 * threads (tested with 1, 2 and 4).
 */
import { availableParallelism } from "node:os";
import type { Piscina } from "piscina";
import { ValidationError } from "../../core/errors.ts";
import { allocateCellGrid, gridEntryCount } from "../../core/field/grid.ts";
import { splitCellsForPairs } from "../../core/field/repulsion-pairs.ts";
import { type StepConstants, repulsionStride } from "../../core/field/integrate.ts";
import type { ForceGraph } from "../../core/field/springs.ts";
import { type FieldWorkspace, type TokenAttributes, checkStepBuffers, ensureFieldWorkspace } from "../../core/field/step.ts";
import type { FieldTask } from "./worker-tasks.ts";

export interface FieldPoolOptions {
  /** Worker threads (default: cores − 1, at least 1). */
  readonly threads?: number;
  /** Work ranges per thread and phase (default 2: a little slack for uneven ranges). */
  readonly rangesPerThread?: number;
}

/** Cores − 1, at least 1: one core stays with the event loop (gRPC, actors, the WAL). */
/** Timings of one pool step (see `FieldPool.lastProfile`). */
export interface FieldStepProfile {
  /** Wall ms of the force phase (grids, packing, repulsion) and of the integration phase. */
  readonly forcesWallMs: number;
  readonly integrateWallMs: number;
  /** Busy ms of the worker tasks per kind, summed over threads. */
  readonly busyMs: { readonly grid: number; readonly pack: number; readonly repulsion: number; readonly integrate: number };
}

export function defaultFieldThreads(): number {
  return Math.max(1, availableParallelism() - 1);
}

function isShared(a: ArrayBufferView): boolean {
  return a.buffer instanceof SharedArrayBuffer;
}

export class FieldPool {
  readonly threads: number;
  private readonly parts: number;
  /** Started on the first step: a node that never steps its field starts no threads. */
  private piscina: Piscina<FieldTask, number> | undefined;
  private closed = false;

  constructor(options: FieldPoolOptions = {}) {
    const threads = options.threads ?? defaultFieldThreads();
    if (!Number.isInteger(threads) || threads < 1 || threads > 256) {
      throw ValidationError.of("field pool options", [
        { field: "threads", value: String(threads), rule: "thread_count", description: "must be an integer in [1, 256] (--field-threads / NG_FIELD_THREADS)" },
      ]);
    }
    this.threads = threads;
    this.parts = threads * Math.max(1, Math.floor(options.rangesPerThread ?? 2));
  }

  /** A workspace whose buffers the workers can share. */
  static sharedWorkspaceCheck(ws: FieldWorkspace): void {
    if (!ws.shared) {
      throw new ValidationError("the field pool needs a shared workspace", [
        { field: "workspace", rule: "shared_buffers", description: "allocate it with allocateFieldWorkspace(capacity, true)" },
      ]);
    }
  }

  /**
   * One force step of slots [0, slotCount) (locals [0, graph.tokenCount) first, then ghosts):
   * reads `attrs.positions`, writes the locals into `output`. Every array must live in a
   * SharedArrayBuffer (allocate with `shared = true`).
   */
  async step(ws: FieldWorkspace, attrs: TokenAttributes, slotCount: number, graph: ForceGraph, constants: StepConstants, output: Int16Array): Promise<void> {
    if (this.closed) throw new ValidationError("the field pool is closed", [{ field: "pool", rule: "open", description: "create a new FieldPool" }]);
    FieldPool.sharedWorkspaceCheck(ws);
    checkStepBuffers(attrs, slotCount, graph, output);
    const unshared = [
      ["positions", attrs.positions],
      ["ids", attrs.ids],
      ["flags", attrs.flags],
      ["radii", attrs.radii],
      ["strengths", attrs.strengths],
      ["output", output],
      ["graph.offsets", graph.offsets],
      ["graph.neighbor", graph.neighbor],
    ] as const;
    const bad = unshared.filter(([, a]) => !isShared(a));
    if (bad.length > 0) {
      throw ValidationError.of(
        "field step buffers",
        bad.map(([field]) => ({ field, rule: "shared_buffer", description: "must be a view of a SharedArrayBuffer (allocate with shared = true)" })),
      );
    }
    const local = graph.tokenCount;
    const stride = repulsionStride(constants);
    ensureFieldWorkspace(ws, slotCount, stride);
    const parts = this.parts;
    const t0 = performance.now();
    const busy = { grid: 0, pack: 0, repulsion: 0, integrate: 0 };

    // Forces, pipelined per space: a space's repulsion tasks are queued as soon as its grid is
    // built (no barrier between all grids and all repulsion), so with fewer threads than spaces
    // no thread idles at the end of the grid phase. Packing runs alongside. Everything reads
    // the snapshot and writes disjoint buffers.
    const forces: Promise<void>[] = [];
    let repulsionMask = 0;
    for (let a = 0; a < constants.spaces.length; a++) {
      const s = constants.spaces[a]!;
      let grid = ws.grids[s];
      if (grid === undefined) {
        grid = allocateCellGrid(ws.capacity, true);
        ws.grids[s] = grid;
      }
      const g = grid;
      const task: FieldTask = { kind: "grid", grid: g, positions: attrs.positions, radii: attrs.radii, strengths: attrs.strengths, count: slotCount, space: s };
      forces.push(
        this.run(task).then(async (ms) => {
          busy.grid += ms;
          if (gridEntryCount(g) === 0) return;
          repulsionMask |= 1 << s;
          // Pair sums in two waves (even cell ranges, then odd: no entry has two writers),
          // then the finish over entry ranges.
          const bounds = splitCellsForPairs(g, parts);
          const ranges = bounds.length - 1;
          for (const parity of [0, 1]) {
            const wave: Promise<number>[] = [];
            for (let p = parity; p < ranges; p += 2) {
              if (bounds[p + 1]! > bounds[p]!) wave.push(this.run({ kind: "pairs", grid: g, ids: attrs.ids, cellBegin: bounds[p]!, cellEnd: bounds[p + 1]! }));
            }
            for (const ms2 of await Promise.all(wave)) busy.repulsion += ms2;
          }
          const entries = gridEntryCount(g);
          const tasks: Promise<number>[] = [];
          for (let p = 0; p < parts; p++) {
            const entryBegin = Math.floor((entries * p) / parts);
            const entryEnd = Math.floor((entries * (p + 1)) / parts);
            if (entryEnd <= entryBegin) continue;
            tasks.push(
              this.run({
                kind: "finish",
                grid: g,
                ids: attrs.ids,
                repulsionConstant: constants.repulsionConstant,
                entryBegin,
                entryEnd,
                out: ws.repulsion,
                outStride: stride,
                outOffset: a * 3,
                localCount: local,
              }),
            );
          }
          for (const ms2 of await Promise.all(tasks)) busy.repulsion += ms2;
        }),
      );
    }
    for (let p = 0; p < parts; p++) {
      const begin = Math.floor((slotCount * p) / parts);
      const end = Math.floor((slotCount * (p + 1)) / parts);
      if (end > begin) forces.push(this.run({ kind: "pack", positions: attrs.positions, constants, begin, end, packed: ws.packed }).then((ms) => void (busy.pack += ms)));
    }
    await Promise.all(forces);
    const t1 = performance.now();

    // Integration over contiguous slot ranges (needs every force of the step).
    const input = { positions: attrs.positions, packed: ws.packed, ids: attrs.ids, flags: attrs.flags, graph, repulsion: ws.repulsion, repulsionMask, constants };
    const integrate: Promise<number>[] = [];
    for (let p = 0; p < parts; p++) {
      const begin = Math.floor((local * p) / parts);
      const end = Math.floor((local * (p + 1)) / parts);
      if (end > begin) integrate.push(this.run({ kind: "integrate", input, output, begin, end }));
    }
    for (const ms of await Promise.all(integrate)) busy.integrate += ms;
    const t2 = performance.now();
    this.lastProfile = { forcesWallMs: t1 - t0, integrateWallMs: t2 - t1, busyMs: busy };
  }

  /** Where the last step's time went: wall time per phase and busy time of the tasks per kind (summed over threads). */
  lastProfile: FieldStepProfile | undefined;

  private starting: Promise<Piscina<FieldTask, number>> | undefined;

  private async run(task: FieldTask): Promise<number> {
    // Piscina is loaded with the first step, not with every node start.
    this.starting ??= import("piscina").then(
      ({ Piscina: Pool }) =>
        (this.piscina = new Pool<FieldTask, number>({
          filename: new URL("./worker.mjs", import.meta.url).href,
          minThreads: this.threads,
          maxThreads: this.threads,
          idleTimeout: 60_000,
          concurrentTasksPerWorker: 1,
        })),
    );
    return (await this.starting).run(task);
  }

  /** Stops the worker threads (idempotent). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const pool = this.starting === undefined ? this.piscina : await this.starting.catch(() => undefined);
    await pool?.destroy();
  }
}
