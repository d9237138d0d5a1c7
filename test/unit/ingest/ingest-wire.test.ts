/**
 * The producer ingest wire format: batches and acks round-trip, and every malformed payload is a
 * ValidationError that names what was wrong.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ErrorCode, OverloadedError, ValidationError } from "../../../src/core/errors.ts";
import { IngestBatch } from "../../../src/gen/neurograph/v1/ingest.ts";
import { decodeIngestAck, decodeIngestBatch, encodeIngestAck, encodeIngestBatch, encodeIngestError } from "../../../src/actors/ingest/ingest-wire.ts";

function violation(fn: () => unknown): { field: string; rule: string; description: string } {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    const v = (err as ValidationError).violations[0]!;
    return { field: v.field, rule: v.rule, description: v.description };
  }
  throw new Error("expected a ValidationError");
}

describe("ingest batches", () => {
  it("round-trip records and options, 4-byte aligned", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 64, maxLength: 64 * 20 }).map((a) => a.subarray(0, a.length - (a.length % 64))), fc.boolean(), fc.boolean(), fc.string({ maxLength: 20 }), (records, partial, returnIds, producer) => {
        const b = decodeIngestBatch("tokens", encodeIngestBatch(records, { partial, returnIds, producer }));
        expect(Buffer.from(b.records)).toEqual(Buffer.from(records));
        expect(b.records.byteOffset % 4).toBe(0);
        expect(b).toMatchObject({ kind: "tokens", count: records.length / 64, partial, returnIds, producer });
      }),
    );
  });

  it("reject empty, undecodable, wrongly sized and oversized payloads with the rule they broke", () => {
    expect(violation(() => decodeIngestBatch("tokens", new Uint8Array(0))).field).toBe("body");
    expect(violation(() => decodeIngestBatch("tokens", new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff]))).rule).toBe("ingest_batch");
    expect(violation(() => decodeIngestBatch("tokens", encodeIngestBatch(new Uint8Array(0), { producer: "p" }))).rule).toBe("non_empty");
    expect(violation(() => decodeIngestBatch("connections", encodeIngestBatch(new Uint8Array(100)))).rule).toBe("record_size");
    const over = violation(() => decodeIngestBatch("tokens", encodeIngestBatch(new Uint8Array(64 * 11)), { maxBatchItems: 10, maxReportedErrors: 10 }));
    expect(over.rule).toBe("max_batch_items");
    expect(over.description).toContain("at most 10");
    expect(violation(() => decodeIngestBatch("connections", encodeIngestBatch(new Uint8Array(64), { returnIds: true }))).rule).toBe("tokens_only");
  });

  it("caps the producer name", () => {
    const data = IngestBatch.encode({ records: Buffer.alloc(64), partial: false, producer: "p".repeat(1000), returnIds: false }).finish();
    expect(decodeIngestBatch("tokens", data).producer).toHaveLength(128);
  });
});

describe("ingest acks", () => {
  it("carry counts, at most the configured number of item errors, and ids", () => {
    const rejected = Array.from({ length: 5 }, (_, i) => ({ index: i, id: i + 1, code: ErrorCode.InvalidArgument, field: "weight", rule: "finite", description: `bad ${i}` }));
    const ids = Uint32Array.of(7, 0, 9);
    const ack = decodeIngestAck(encodeIngestAck({ accepted: 3, rejected, ids }, { maxBatchItems: 10, maxReportedErrors: 2 }));
    expect(ack.accepted).toBe(3);
    expect(ack.rejected).toBe(5);
    expect(ack.errors.map((e) => e.description)).toEqual(["bad 0", "bad 1"]);
    expect(Array.from(ack.ids)).toEqual([7, 0, 9]);
    expect(ack.error).toBeUndefined();
  });

  it("turn a whole-batch failure back into the typed error", () => {
    const ack = decodeIngestAck(encodeIngestError(new OverloadedError("busy; retry")));
    expect(ack.error?.code).toBe(ErrorCode.Overloaded);
    expect(ack.error?.retryable).toBe(true);
    const v = decodeIngestAck(encodeIngestError(ValidationError.of("ingest batch", [{ field: "records", rule: "record_size", description: "not 64" }])));
    expect(v.error).toBeInstanceOf(ValidationError);
    expect((v.error as ValidationError).violations[0]?.rule).toBe("record_size");
  });
});
