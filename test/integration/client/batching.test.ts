import { setImmediate as tick } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { encodeTokenInputs, ErrorCode, tokenRecordIds, ValidationError, type TokenInput } from "../../../src/client/index.ts";
import { rejectionOf, startClientHarness, type ClientHarness } from "./harness.ts";

/** Packed records of tokens with ids first..first+n-1 and a weight derived from the id. */
function records(first: number, n: number): Uint8Array {
  const tokens: TokenInput[] = [];
  for (let i = 0; i < n; i++) tokens.push({ id: first + i, coords: { l1: [i % 100, 0, 0] }, weight: ((first + i) % 100) / 100, timestamp: 1_700_000_000 });
  return encodeTokenInputs(tokens);
}

describe("batching helpers over real gRPC", () => {
  let h: ClientHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it("TokenWriter: objects, arrays and packed records, flushed in messages of batchSize", async () => {
    h = await startClientHarness();
    const progress: number[] = [];
    const writer = h.client.tokenWriter({ batchSize: 1000, returnIds: true, onProgress: (p) => progress.push(p.records) });
    await writer.write({ id: 1, weight: 0.5 });
    await writer.write([{ id: 2 }, { id: 3 }]);
    await writer.write(records(4, 2497)); // 4..2500: crosses two batch boundaries
    for (let start = 2501; start <= 25_500; start += 1150) await writer.write(records(start, Math.min(1150, 25_501 - start)));
    const summary = await writer.end();
    expect(summary.received).toBe(25_500);
    expect(summary.accepted).toBe(25_500);
    expect(summary.messages).toBe(26);
    expect(writer.messages).toBe(26);
    expect(summary.ids.length).toBe(25_500);
    expect(summary.ids[0]).toBe(1);
    expect(summary.ids[25_499]).toBe(25_500);
    expect(progress.slice(0, 3)).toEqual([1000, 2000, 3000]);
    expect(progress.at(-1)).toBe(25_500);
    expect(h.memory.tokens.size).toBe(25_500);
    expect(Buffer.from(h.memory.tokens.get(1234)!).equals(Buffer.from(records(4, 2497).subarray(1230 * 64, 1231 * 64)))).toBe(true);
    // Messages are at most batchSize records each.
    expect(h.flaky.attemptsOf("ingestTokens")).toBe(26);
  });

  it("TokenWriter under back-pressure delivers every record exactly once", async () => {
    h = await startClientHarness();
    let release!: () => void;
    h.memory.gate = new Promise<void>((resolve) => (release = resolve));
    const writer = h.client.tokenWriter({ batchSize: 100 });
    let next = 1;
    const pending: Promise<void>[] = [];
    while (!writer.waitingForDrain && next < 2_000_000) {
      pending.push(writer.write(records(next, 100)));
      next += 100;
      await tick();
    }
    expect(writer.waitingForDrain).toBe(true);
    // More writes queue behind the blocked one, in order, and nothing more reaches the stream.
    const sentWhenBlocked = writer.sent;
    for (let i = 0; i < 5; i++, next += 100) pending.push(writer.write(records(next, 100)));
    for (let i = 0; i < 10; i++) await tick();
    expect(writer.sent).toBe(sentWhenBlocked);
    expect(writer.written).toBe(sentWhenBlocked);
    h.memory.gate = undefined;
    release();
    await Promise.all(pending);
    const summary = await writer.end();
    expect(summary.received).toBe(next - 1);
    expect(summary.accepted).toBe(next - 1);
    expect(h.memory.tokens.size).toBe(next - 1);
    expect(writer.drainWaits).toBeGreaterThan(0);
  });

  it("ingest() streams an async source; invalid objects are rejected before they are sent", async () => {
    h = await startClientHarness();
    async function* source(): AsyncGenerator<TokenInput[]> {
      for (let i = 0; i < 30; i++) {
        await tick();
        yield Array.from({ length: 100 }, (_, k) => ({ id: i * 100 + k + 1, weight: 0.5 }));
      }
    }
    const summary = await h.client.ingest(source(), { batchSize: 512 });
    expect(summary).toMatchObject({ received: 3000, accepted: 3000, messages: 6 });

    const writer = h.client.tokenWriter({ batchSize: 10 });
    const err = await rejectionOf(writer.write([{ id: 5000 }, { id: 5001, coords: { l2: [9, 0, 0] } }, { id: 5002, weight: Number.NaN }]));
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).violations.map((v) => [v.index, v.field, v.rule])).toEqual([
      [1, "coords.l2.x", "coord_range"],
      [2, "weight", "weight_finite"],
    ]);
    expect(writer.written).toBe(0);
    await writer.write({ id: 5003 });
    expect((await writer.end()).received).toBe(1);
  });

  it("reports a strict-mode ingest failure with stream positions and the partial-mode rejections", async () => {
    h = await startClientHarness();
    const bad = records(1, 250);
    new DataView(bad.buffer).setFloat32(123 * 64 + 54, 7, true); // record 123: weight out of range
    const err = await rejectionOf(h.client.ingest([bad], { batchSize: 100 }));
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).violations).toEqual([expect.objectContaining({ index: 123, field: "weight", rule: "weight_range" })]);
    expect(err.message).toContain("the 100 records before this message were applied");
    expect(h.memory.tokens.size).toBe(100);

    const partial = await h.client.ingest([records(1000, 250).slice(), bad], { batchSize: 100, partial: true });
    expect(partial.received).toBe(500);
    expect(partial.rejectedCount).toBe(101); // 100 duplicates of ids 1..100 + the bad weight
    expect(partial.rejected.find((r) => r.rule === "weight_range")).toMatchObject({ index: 250 + 123, code: ErrorCode.InvalidArgument });
  });

  it("createMany chunks, runs calls concurrently and merges ids and rejections in input order", async () => {
    h = await startClientHarness();
    const input: TokenInput[] = Array.from({ length: 2345 }, (_, i) => ({ id: i % 3 === 0 ? 0 : 100_000 + i, weight: 0.5 }));
    const res = await h.client.createMany(input, { batchSize: 200, concurrency: 3 });
    expect(res.accepted).toBe(2345);
    expect(res.ids.length).toBe(2345);
    expect(res.ids[1]).toBe(100_001);
    expect(res.ids.includes(0)).toBe(false);
    expect(h.flaky.attemptsOf("createTokens")).toBe(12);

    const again = await h.client.createMany(records(100_001, 500), { batchSize: 128, partial: true });
    const existing = Array.from(tokenRecordIds(records(100_001, 500))).filter((id) => (id - 100_000) % 3 !== 0).length;
    expect(again.accepted).toBe(500 - existing);
    expect(again.rejected.length).toBe(500 - again.accepted);
    expect(again.rejected.every((r, i, all) => i === 0 || all[i - 1]!.index < r.index)).toBe(true);
    expect(again.rejected[0]).toMatchObject({ index: 0, id: 100_001, code: ErrorCode.AlreadyExists });
  });

  it("createMany in strict mode stops at the failing chunk and shifts its violation indices", async () => {
    h = await startClientHarness();
    const bad = records(1, 1000);
    new DataView(bad.buffer).setFloat32(777 * 64 + 54, -1, true);
    const err = await rejectionOf(h.client.createMany(bad, { batchSize: 100, concurrency: 1 }));
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).violations[0]).toMatchObject({ index: 777, field: "weight" });
    expect(err.message).toContain("700 token(s) of other chunks were created");
    expect(h.memory.tokens.size).toBe(700);
    expect(h.flaky.attemptsOf("createTokens")).toBe(8);
  });
});
