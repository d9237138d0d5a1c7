/**
 * Shared pieces of the rule and quota tests: a real node (4 shard actors, guardian, LMDB WAL, gRPC
 * over loopback), packed records with any field value, and `refused`: a call that must fail with
 * a given status code and detail, and must leave everything a client can read as it was.
 */
import { expect } from "vitest";
import { status, type ServiceError } from "@grpc/grpc-js";
import { decodeStatusDetails, type StatusDetails } from "../../../src/api/errors.ts";
import { defaultConstitution, sealConstitution, type Constitution } from "../../../src/core/constitution/index.ts";
import { ConnectionOffset as O } from "../../../src/core/connection/layout.ts";
import { packTokens, type TokenSpec } from "../api/fixtures.ts";
import { call, dump, failure, type TestNode } from "../node/harness.ts";

export { call, failure };

export const NOW_S = Math.floor(Date.now() / 1000);

export function withConstitution(change: (c: Constitution) => Constitution): Constitution {
  return sealConstitution(change(defaultConstitution()));
}

/** A connection record with every field settable (defaults: a valid Learnable 0x50 edge). */
export interface EdgeRecord {
  source: number;
  target: number;
  type?: number;
  activeSpaces?: number;
  flags?: number;
  mutability?: number;
  reserved?: number;
  rigidity?: number;
  pull?: number;
  distance?: number;
  confidence?: number;
  learningRate?: number;
  decayRate?: number;
  evidence?: number;
  successes?: number;
}

export function packEdges(edges: readonly EdgeRecord[]): Buffer {
  const b = Buffer.alloc(edges.length * 64);
  edges.forEach((e, i) => {
    const o = i * 64;
    b.writeUInt32LE(e.source, o + O.source);
    b.writeUInt32LE(e.target, o + O.target);
    b.writeUInt8(e.type ?? 0x50, o + O.type);
    b.writeUInt8(e.activeSpaces ?? 0, o + O.activeSpaces);
    b.writeUInt16LE(e.flags ?? 1, o + O.flags);
    b.writeUInt8(e.mutability ?? 1, o + O.mutability);
    b.writeUInt8(e.reserved ?? 0, o + 13);
    b.writeFloatLE(e.rigidity ?? 0.5, o + O.rigidity);
    b.writeFloatLE(e.pull ?? 1, o + O.pullStrength);
    b.writeFloatLE(e.distance ?? 1, o + O.preferredDistance);
    b.writeFloatLE(e.confidence ?? 0.5, o + O.confidence);
    b.writeFloatLE(e.learningRate ?? 0.125, o + O.learningRate);
    b.writeFloatLE(e.decayRate ?? 0.0625, o + O.decayRate);
    b.writeUInt32LE(e.evidence ?? 0, o + O.evidenceCount);
    b.writeUInt32LE(e.successes ?? 0, o + O.successCount);
    b.writeUInt32LE(NOW_S, o + O.createdAt);
    b.writeUInt32LE(NOW_S, o + O.updatedAt);
  });
  return b;
}

export const tokensAt = (from: number, n: number, extra: Partial<TokenSpec> = {}): TokenSpec[] =>
  Array.from({ length: n }, (_, i) => ({ id: from + i, timestamp: NOW_S, ...extra }));

export function createPacked(t: TestNode, records: Buffer, partial = false) {
  return call(t.tokens.createTokens.bind(t.tokens), { tokens: { payload: { $case: "packed", value: records } }, partial });
}

export function create(t: TestNode, specs: readonly TokenSpec[], partial = false) {
  return createPacked(t, packTokens(specs), partial);
}

export function connectPacked(t: TestNode, records: Buffer, partial = false) {
  return call(t.graph.connect.bind(t.graph), { connections: { payload: { $case: "packed", value: records } }, partial });
}

/** An IngestTokens client stream of the given messages (packed records), strict unless `partial`. */
export function ingest(t: TestNode, messages: readonly Buffer[], partial = false) {
  return new Promise<{ received: number; accepted: number; rejectedCount: number }>((resolve, reject) => {
    const stream = t.tokens.ingestTokens((err, res) => (err === null ? resolve(res) : reject(err)));
    for (const records of messages) stream.write({ records, partial, returnIds: false });
    stream.end();
  });
}

/** What a refusal must carry: the status code, and the rule with its item index and field. */
export interface Refusal {
  readonly code: status;
  readonly rule: string;
  /** Request index of the offending item (undefined: a batch- or request-level violation). */
  readonly index?: number;
  /** The item's field (or the request field when there is no index). */
  readonly field?: string;
}

/** Everything a client reads about `probe` ids plus the node's counts. */
async function snapshot(t: TestNode, probe: readonly number[]) {
  const d = await dump(t, probe);
  const s = await call(t.admin.getStats.bind(t.admin), {});
  return { ...d, tokens: d.tokens.toString("hex"), connections: d.connections.toString("hex"), count: [s.tokens, s.connections] };
}

/** The violations of a status, from our detail (index, field, rule) checked against the standard one. */
export function violationsOf(d: StatusDetails, batchField: string): { index?: number; field: string; rule: string }[] {
  const ours = d.violations?.items ?? [];
  const path = (v: { index?: number; field: string }) => (v.index === undefined ? v.field : v.field === "" ? `${batchField}[${v.index}]` : `${batchField}[${v.index}].${v.field}`);
  const standard = d.badRequest?.fieldViolations.map((v) => [v.field, v.reason]) ?? d.preconditionFailure?.violations.map((v) => [v.subject, v.type]);
  if (standard !== undefined) expect(standard, "the standard detail (BadRequest / PreconditionFailure) names the same violations").toEqual(ours.map((v) => [path(v), v.rule]));
  expect(d.violations?.total ?? 0).toBe(ours.length);
  return ours.map((v) => ({ ...(v.index === undefined ? {} : { index: v.index }), field: v.field, rule: v.rule }));
}

/**
 * Runs a call that must fail: checks its status code, that the detail lists the expected
 * violation (BadRequest for INVALID_ARGUMENT, PreconditionFailure for FAILED_PRECONDITION, both
 * mirrored in neurograph.v1.Violations), and that nothing a client can read changed.
 */
export async function refused(t: TestNode, probe: readonly number[], run: () => Promise<unknown>, want: Refusal, batchField: string): Promise<ServiceError> {
  const before = await snapshot(t, probe);
  const err = await failure(run());
  expect(err.code, `${want.rule}: ${err.details}`).toBe(want.code);
  const d = decodeStatusDetails(err.metadata);
  expect(d.errorInfo?.domain).toBe("neurograph");
  if (want.code === status.INVALID_ARGUMENT) expect(d.badRequest, "INVALID_ARGUMENT carries google.rpc.BadRequest").toBeDefined();
  if (want.code === status.FAILED_PRECONDITION) expect(d.preconditionFailure, "FAILED_PRECONDITION carries google.rpc.PreconditionFailure").toBeDefined();
  const listed = violationsOf(d, batchField);
  const match = listed.filter((v) => v.rule === want.rule && v.index === want.index && (want.field === undefined || v.field === want.field));
  expect(match, `${want.rule} at ${want.index ?? "-"}.${want.field ?? "*"} listed in the detail: ${JSON.stringify(listed)}`).toHaveLength(1);
  expect(await snapshot(t, probe)).toEqual(before);
  return err;
}
