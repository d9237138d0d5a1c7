/**
 * Writes a hierarchy plan through the node's normal write path (the `GraphRouter`, so the
 * shards validate, log and acknowledge it like any client write): parent tokens, PartOf
 * connections from members to parents, removed PartOf connections, deactivated parents.
 * Every part is a partial batch and repeats harmlessly, so a plan interrupted by a crash is
 * simply written again on recovery (a parent that exists is reported, not duplicated).
 */
import { CONNECTION_RECORD_SIZE, ConnectionOffset } from "../core/connection/layout.ts";
import type { HierarchyPlan } from "../core/field/hierarchy-types.ts";
import { TOKEN_FLAGS } from "../core/token/flags.ts";
import { TOKEN_RECORD_SIZE, TokenOffset } from "../core/token/layout.ts";
import type { GraphRouter } from "./graph-router.ts";
import type { Scope } from "./router-writes.ts";

export type FieldWriter = Pick<GraphRouter, "createTokens" | "connect" | "disconnect" | "getTokens" | "updateTokens">;

export interface PlanWriteReport {
  readonly parentsCreated: number;
  readonly partOfConnected: number;
  readonly partOfRemoved: number;
  readonly parentsDeactivated: number;
}

export function planIsEmpty(plan: HierarchyPlan): boolean {
  return plan.createParents.length === 0 && plan.deactivateParents.length === 0 && plan.connect.source.length === 0 && plan.disconnect.source.length === 0;
}

function parentRecords(plan: HierarchyPlan, nowSeconds: number): Uint8Array {
  const out = new Uint8Array(plan.createParents.length * TOKEN_RECORD_SIZE);
  const dv = new DataView(out.buffer);
  plan.createParents.forEach((p, i) => {
    const o = i * TOKEN_RECORD_SIZE;
    for (let c = 0; c < 24; c++) dv.setInt16(o + TokenOffset.coords + c * 2, p.coords[c] ?? 0, true);
    dv.setUint32(o + TokenOffset.id, p.id, true);
    dv.setUint16(o + TokenOffset.flags, p.flags, true);
    dv.setFloat32(o + TokenOffset.weight, p.weight, true);
    dv.setUint8(o + TokenOffset.fieldRadius, p.radiusRaw);
    dv.setUint8(o + TokenOffset.fieldStrength, p.strengthRaw);
    dv.setUint32(o + TokenOffset.timestamp, nowSeconds, true);
  });
  return out;
}

function partOfRecords(plan: HierarchyPlan, nowSeconds: number): Uint8Array {
  const n = plan.connect.source.length;
  const t = plan.partOf;
  const out = new Uint8Array(n * CONNECTION_RECORD_SIZE);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < n; i++) {
    const o = i * CONNECTION_RECORD_SIZE;
    dv.setUint32(o + ConnectionOffset.source, plan.connect.source[i]!, true);
    dv.setUint32(o + ConnectionOffset.target, plan.connect.target[i]!, true);
    dv.setUint8(o + ConnectionOffset.type, t.type);
    dv.setUint8(o + ConnectionOffset.activeSpaces, t.activeSpaces);
    dv.setUint16(o + ConnectionOffset.flags, t.flags, true);
    dv.setUint8(o + ConnectionOffset.mutability, t.mutability);
    dv.setFloat32(o + ConnectionOffset.rigidity, t.rigidity, true);
    dv.setFloat32(o + ConnectionOffset.pullStrength, t.pull, true);
    dv.setFloat32(o + ConnectionOffset.preferredDistance, t.preferredDistance, true);
    dv.setFloat32(o + ConnectionOffset.confidence, t.confidence, true);
    dv.setUint32(o + ConnectionOffset.createdAt, nowSeconds, true);
    dv.setUint32(o + ConnectionOffset.updatedAt, nowSeconds, true);
  }
  return out;
}

export async function writePlan(writer: FieldWriter, plan: HierarchyPlan, scope: Scope, nowSeconds: number): Promise<PlanWriteReport> {
  const partial = { partial: true };
  let parentsCreated = 0;
  let partOfConnected = 0;
  let partOfRemoved = 0;
  let parentsDeactivated = 0;
  if (plan.disconnect.source.length > 0) {
    const types = new Int16Array(plan.disconnect.source.length).fill(plan.partOf.type);
    partOfRemoved = (await writer.disconnect({ sources: plan.disconnect.source, targets: plan.disconnect.target, types }, partial, scope)).accepted;
  }
  if (plan.deactivateParents.length > 0) {
    const got = await writer.getTokens(plan.deactivateParents, { allowMissing: true }, scope);
    const records = new Uint8Array(got.records);
    const dv = new DataView(records.buffer);
    for (let o = 0; o < records.byteLength; o += TOKEN_RECORD_SIZE) {
      dv.setUint16(o + TokenOffset.flags, dv.getUint16(o + TokenOffset.flags, true) & ~TOKEN_FLAGS.ACTIVE, true);
    }
    if (records.byteLength > 0) parentsDeactivated = (await writer.updateTokens(records, partial, scope)).accepted;
  }
  if (plan.createParents.length > 0) {
    parentsCreated = (await writer.createTokens(parentRecords(plan, nowSeconds), partial, scope)).accepted;
  }
  if (plan.connect.source.length > 0) {
    partOfConnected = (await writer.connect(partOfRecords(plan, nowSeconds), partial, scope)).accepted;
  }
  return { parentsCreated, partOfConnected, partOfRemoved, parentsDeactivated };
}
