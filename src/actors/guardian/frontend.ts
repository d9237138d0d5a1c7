/**
 * The guardian as the API sees it: constitution reads and changes, stats and the event stream,
 * over the guardian actor (asks honour the caller's deadline) and the hub (events are read
 * locally: a watcher never goes through the guardian's mailbox). Implements the constitution /
 * stats / events half of the API's `GuardianBackend` structurally; Activate and Feedback are the
 * node's (they go through the shards).
 */
import type { Constitution } from "../../core/constitution/index.ts";
import type { ActorRef } from "../../runtime/index.ts";
import type { ConstitutionChangeRequest } from "./changes.ts";
import type { GuardianEvent, GuardianEventKind } from "./events.ts";
import type { GuardianHub } from "./hub.ts";
import type { DryRunResult, GuardianMessage, GuardianReport, HistoryItem } from "./protocol.ts";

export interface CallScope {
  /** Absolute deadline, epoch ms (Infinity = none). */
  readonly deadline: number;
  readonly signal: AbortSignal;
}

export interface ConstitutionSnapshot {
  readonly document: Constitution;
  readonly bytes: Uint8Array;
}

function snapshot(a: { readonly document: Constitution; readonly bytes: Uint8Array }): ConstitutionSnapshot {
  return { document: a.document, bytes: a.bytes };
}

export class GuardianFrontend {
  constructor(
    private readonly guardian: ActorRef<GuardianMessage>,
    private readonly hub: GuardianHub,
  ) {}

  private opts(ctx: CallScope): { deadline?: number } {
    return Number.isFinite(ctx.deadline) ? { deadline: ctx.deadline } : {};
  }

  async getConstitution(ctx: CallScope): Promise<ConstitutionSnapshot> {
    return snapshot(await this.guardian.ask({ type: "guardian.get" }, this.opts(ctx)));
  }

  async updateConstitution(request: ConstitutionChangeRequest, ctx: CallScope): Promise<ConstitutionSnapshot> {
    return snapshot(await this.guardian.ask({ type: "guardian.update", request }, this.opts(ctx)));
  }

  validateConstitution(request: ConstitutionChangeRequest, ctx: CallScope): Promise<DryRunResult> {
    return this.guardian.ask({ type: "guardian.validate", request }, this.opts(ctx));
  }

  async rollbackConstitution(options: { readonly expectedVersion?: number; readonly author?: string; readonly comment?: string }, ctx: CallScope): Promise<ConstitutionSnapshot> {
    return snapshot(await this.guardian.ask({ type: "guardian.rollback", ...options }, this.opts(ctx)));
  }

  constitutionHistory(ctx: CallScope): Promise<readonly HistoryItem[]> {
    return this.guardian.ask({ type: "guardian.history" }, this.opts(ctx));
  }

  guardianStats(ctx: CallScope): Promise<GuardianReport> {
    return this.guardian.ask({ type: "guardian.stats" }, this.opts(ctx));
  }

  /** Events from now on until `ctx.signal` aborts; a slow reader gets `dropped` markers. */
  watchEvents(options: { readonly kinds?: readonly GuardianEventKind[]; readonly capacity?: number }, ctx: CallScope): AsyncIterable<GuardianEvent> {
    const sub = this.hub.events.subscribe({
      ...(options.kinds === undefined ? {} : { kinds: options.kinds }),
      ...(options.capacity === undefined ? {} : { capacity: options.capacity }),
    });
    return sub.events(ctx.signal);
  }
}
