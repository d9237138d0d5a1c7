/** Test helpers for the runtime tests. */
import { Actor, type ActorContext, type Ask } from "../../../src/runtime/index.ts";

/** Lets queued microtasks and immediates run (several event-loop turns). */
export async function flush(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Settles `p` into a result object, so a test can inspect a rejection without racing it. */
export async function settle<T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  try {
    return { ok: true, value: await p };
  } catch (error) {
    return { ok: false, error };
  }
}

/** A promise that a test opens when it wants. */
export class Gate {
  private opened = false;
  private waiters: (() => void)[] = [];

  wait(): Promise<void> {
    if (this.opened) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  open(): void {
    this.opened = true;
    for (const w of this.waiters.splice(0)) w();
  }
}

/**
 * A recorder actor used by several tests: records every message it processes; `block` holds the
 * turn until the gate opens; `fail` throws; `get` replies with what it saw.
 */
export type RecorderMsg =
  | { type: "rec.note"; n: number }
  | Ask<{ type: "rec.echo"; n: number }, number>
  | Ask<{ type: "rec.block"; n: number }, number>
  | Ask<{ type: "rec.fail"; n: number }, number>
  | Ask<{ type: "rec.seen" }, readonly number[]>;

export class RecorderActor extends Actor<RecorderMsg> {
  constructor(
    private readonly log: number[],
    private readonly gate: Gate,
    private readonly onStart: () => void = () => undefined,
  ) {
    super();
  }

  override preStart(): void {
    this.onStart();
  }

  receive(m: RecorderMsg, _ctx: ActorContext<RecorderMsg>): number | readonly number[] | void | Promise<number> {
    switch (m.type) {
      case "rec.note":
        this.log.push(m.n);
        return;
      case "rec.echo":
        this.log.push(m.n);
        return m.n;
      case "rec.block":
        this.log.push(m.n);
        return this.gate.wait().then(() => m.n);
      case "rec.fail":
        throw new Error(`boom ${m.n}`);
      case "rec.seen":
        return [...this.log];
    }
  }
}
