/**
 * Messages between `neurograph load` (the coordinator) and its worker processes, over the
 * child-process IPC channel as JSON. Histograms cross as compressed base64 and are merged exactly.
 */
import type { LoadPlan, OpKind } from "./plan.ts";

export type ToWorker =
  | { readonly type: "plan"; readonly plan: LoadPlan; readonly index: number }
  /** Start at this wall-clock time (ms since the epoch), the same for every worker. */
  | { readonly type: "start"; readonly atEpochMs: number }
  /** Stop sending; finish what is in flight and report. */
  | { readonly type: "stop" };

export interface OpResult {
  readonly op: OpKind;
  /** Completed operations of the measured phase (failed ones included). */
  readonly count: number;
  readonly errors: number;
  /** Tokens the node accepted in the measured phase. */
  readonly tokens: number;
  /** Latencies (µs) of the measured phase, failed operations included. */
  readonly histogram: string;
}

export interface WorkerResult {
  readonly index: number;
  readonly ops: readonly OpResult[];
  readonly errorsByCode: Readonly<Record<string, number>>;
  /** First error message per code (for the report). */
  readonly errorSamples: Readonly<Record<string, string>>;
  /** ms after the common start: first measured send and last measured completion. */
  readonly measuredFromMs: number;
  readonly measuredToMs: number;
  /** Duration runs: operations (any phase) completed inside the measured phase's window. */
  readonly windowCompletions: number;
  readonly windowTokens: number;
  /** Measured operations started (open loop: as scheduled). */
  readonly started: number;
  /** Open loop: operations sent more than 10 ms late while a slot was free (the worker fell behind). */
  readonly lateSends: number;
  /** Open loop: the largest such delay, µs. */
  readonly maxSendLagUs: number;
  /** Open loop: operations that waited for a free slot (--max-in-flight). */
  readonly queued: number;
  readonly cpuUserUs: number;
  readonly cpuSystemUs: number;
  readonly peakRssBytes: number;
}

export type FromWorker =
  | { readonly type: "ready"; readonly index: number }
  | {
      readonly type: "progress";
      readonly index: number;
      /** Since the previous progress message: completions, failures, latencies (all phases). */
      readonly done: number;
      readonly errors: number;
      readonly histogram: string;
      readonly inFlight: number;
    }
  | { readonly type: "result"; readonly result: WorkerResult }
  | { readonly type: "failed"; readonly index: number; readonly code: string; readonly message: string };
