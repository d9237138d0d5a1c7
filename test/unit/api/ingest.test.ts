/**
 * The pipelined IngestTokens handler against a scripted backend: results fold in message order,
 * at most INGEST_PIPELINE_DEPTH messages are in the backend at once, and a bad message stops
 * the stream without anything after it being sent when the messages could depend on each other.
 */
import { describe, expect, it } from "vitest";
import { ValidationError } from "../../../src/core/errors.ts";
import type { CreateTokensResult, IngestOptions, NodeBackend, RequestContext } from "../../../src/api/backend.ts";
import { DEFAULT_API_LIMITS } from "../../../src/api/config.ts";
import { INGEST_PIPELINE_DEPTH, ingestStream } from "../../../src/api/ingest.ts";
import type { IngestTokensRequest } from "../../../src/gen/neurograph/v1/token_service.ts";

const ctx: RequestContext = { deadline: Infinity, signal: new AbortController().signal };

/** `n` records; `firstId` 0 = every id to be allocated, else ids firstId, firstId+1, … */
function records(n: number, firstId: number): Buffer {
  const b = Buffer.alloc(n * 64);
  if (firstId !== 0) for (let i = 0; i < n; i++) b.writeUInt32LE(firstId + i, i * 64 + 48);
  return b;
}

interface Call {
  readonly records: Uint8Array;
  settle(result: CreateTokensResult | Error): void;
}

/** A backend whose ingest calls complete when the test says so. */
function scripted(): { backend: NodeBackend; calls: Call[]; inFlight: () => number; maxInFlight: () => number } {
  const calls: Call[] = [];
  let inFlight = 0;
  let max = 0;
  const backend = {
    ingestTokens(recs: Uint8Array, _options: IngestOptions, _ctx: RequestContext): Promise<CreateTokensResult> {
      inFlight++;
      max = Math.max(max, inFlight);
      return new Promise<CreateTokensResult>((resolve, reject) => {
        calls.push({
          records: recs,
          settle: (r) => {
            inFlight--;
            if (r instanceof Error) reject(r);
            else resolve(r);
          },
        });
      });
    },
  } as unknown as NodeBackend;
  return { backend, calls, inFlight: () => inFlight, maxInFlight: () => max };
}

function ok(n: number, firstId: number): CreateTokensResult {
  return { ids: Uint32Array.from({ length: n }, (_, i) => firstId + i), accepted: n, rejected: [] };
}

async function* stream(messages: IngestTokensRequest[]): AsyncIterable<IngestTokensRequest> {
  for (const m of messages) {
    await Promise.resolve();
    yield m;
  }
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe("pipelined IngestTokens", () => {
  it("keeps up to the pipeline depth of allocating messages in flight and folds results in message order", async () => {
    const s = scripted();
    const msgs = Array.from({ length: 10 }, () => ({ records: records(5, 0), partial: false, returnIds: true }));
    const done = ingestStream(s.backend, DEFAULT_API_LIMITS, stream(msgs), ctx);
    // Complete the calls newest first whenever the pipeline is full.
    let next = 0;
    while (next < 10) {
      await tick();
      const open = s.calls.slice(next);
      for (let i = open.length - 1; i >= 0; i--) open[i]!.settle(ok(5, 1000 + (next + i) * 5));
      next += open.length;
    }
    const res = await done;
    expect(s.maxInFlight()).toBe(INGEST_PIPELINE_DEPTH);
    expect(res).toMatchObject({ received: 50, accepted: 50, messages: 10, rejectedCount: 0 });
    expect(res.ids).toEqual(Array.from({ length: 50 }, (_, i) => 1000 + i));
  });

  it("sends a strict message with given ids only after everything before it, and stops the stream when it is refused", async () => {
    const s = scripted();
    const msgs = [
      { records: records(3, 0), partial: false, returnIds: false },
      { records: records(3, 0), partial: false, returnIds: false },
      { records: records(4, 100), partial: false, returnIds: false },
      { records: records(3, 0), partial: false, returnIds: false },
    ];
    const done = ingestStream(s.backend, DEFAULT_API_LIMITS, stream(msgs), ctx);
    done.catch(() => undefined);
    await tick();
    expect(s.calls).toHaveLength(2); // the third waits for both
    s.calls[0]!.settle(ok(3, 1));
    await tick();
    expect(s.calls).toHaveLength(2);
    s.calls[1]!.settle(ok(3, 4));
    await tick();
    expect(s.calls).toHaveLength(3);
    expect(s.inFlight()).toBe(1);
    s.calls[2]!.settle(ValidationError.of("token batch", [{ index: 2, field: "weight", value: "2", rule: "weight_range", description: "0..1" }]));
    const err: unknown = await done.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).message).toContain("the 6 records before this message were applied");
    expect((err as ValidationError).violations[0]!.index).toBe(8);
    expect(s.calls).toHaveLength(3); // the fourth was never sent
  });

  it("stops before sending more once an allocating message was refused, and says what was applied", async () => {
    const s = scripted();
    const msgs = Array.from({ length: 6 }, () => ({ records: records(2, 0), partial: false, returnIds: false }));
    const done = ingestStream(s.backend, DEFAULT_API_LIMITS, stream(msgs), ctx);
    done.catch(() => undefined);
    await tick();
    expect(s.calls).toHaveLength(INGEST_PIPELINE_DEPTH);
    s.calls[1]!.settle(ValidationError.of("token batch", [{ index: 0, field: "weight", value: "9", rule: "weight_range", description: "0..1" }]));
    await tick();
    s.calls[0]!.settle(ok(2, 1));
    s.calls[2]!.settle(ok(2, 3));
    s.calls[3]!.settle(ok(2, 5));
    const err = (await done.then(
      () => undefined,
      (e: unknown) => e,
    )) as ValidationError;
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.message).toContain("the 2 records before this message were applied, and 4 records of later messages that were already in flight");
    expect(err.violations[0]!.index).toBe(2);
    expect(s.calls).toHaveLength(INGEST_PIPELINE_DEPTH);
  });
});
