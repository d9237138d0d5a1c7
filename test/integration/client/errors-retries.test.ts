import { createServer } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import {
  AlreadyExistsError,
  CancelledError,
  DeadlineExceededError,
  ErrorCode,
  NotFoundError,
  OverloadedError,
  QuotaExceededError,
  UnavailableError,
  ValidationError,
  NeuroGraphClient,
  encodeTokenInputs,
  type NeuroGraphError,
} from "../../../src/client/index.ts";
import { rejectionOf, startClientHarness, type ClientHarness } from "./harness.ts";

const unavailable = (): UnavailableError => new UnavailableError("shard 3 is moving to another node");

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

describe("client errors", () => {
  let h: ClientHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it("decodes INVALID_ARGUMENT into a ValidationError with every violation (index, field, value, rule)", async () => {
    h = await startClientHarness();
    const err = await rejectionOf(h.client.createTokens([{ id: 1, weight: 0.5 }, { id: 2, weight: 1.5 }, { id: 3, weight: -2 }]));
    expect(err).toBeInstanceOf(ValidationError);
    const v = err as ValidationError;
    expect(v.code).toBe(ErrorCode.InvalidArgument);
    expect(v.violations).toEqual([
      { index: 1, field: "weight", value: "1.5", rule: "weight_range", description: "weight must be within [0, 1]" },
      { index: 2, field: "weight", value: "-2", rule: "weight_range", description: "weight must be within [0, 1]" },
    ]);
    expect(h.memory.tokens.size).toBe(0);
  });

  it("rejects unencodable input on the client with every violation, sending nothing", async () => {
    h = await startClientHarness();
    const err = await rejectionOf(
      h.client.createTokens([{ id: 1, coords: { l1: [Number.POSITIVE_INFINITY, 0, 400] } }, { id: 2, level: 16, entityType: "gadget", fieldRadius: 3 }]),
    );
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).violations.map((x) => [x.index, x.field, x.rule])).toEqual([
      [0, "coords.l1.x", "coord_finite"],
      [0, "coords.l1.z", "coord_range"],
      [1, "entity_type", "entity_type_known"],
      [1, "level", "level_range"],
      [1, "field_radius", "field_radius_range"],
    ]);
    const conn = await rejectionOf(h.client.connect([{ source: 0, target: 2, type: 0xb0 }]));
    expect((conn as ValidationError).violations.map((x) => x.field)).toEqual(["source", "type"]);
    const space = await rejectionOf(h.client.neighbors({ id: 1, space: "L9", radius: 1 }));
    expect((space as ValidationError).violations[0]).toMatchObject({ field: "space", rule: "space_known" });
    expect(h.flaky.attempts.size).toBe(0);
  });

  it("maps NOT_FOUND and ALREADY_EXISTS to their typed errors and server-side request checks to violations", async () => {
    h = await startClientHarness();
    await h.client.createTokens([{ id: 1 }]);
    expect(await rejectionOf(h.client.createTokens([{ id: 1 }]))).toBeInstanceOf(AlreadyExistsError);
    expect(await rejectionOf(h.client.neighbors({ id: 9, space: "L1", radius: 1 }))).toBeInstanceOf(NotFoundError);
    const err = await rejectionOf(h.client.neighbors({ id: 1, space: "L1", radius: -1 }));
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).violations[0]).toMatchObject({ field: "radius", value: "-1" });
  });

  it("reports an unreachable node as UnavailableError with a hint", async () => {
    const port = await freePort();
    const err = await rejectionOf(NeuroGraphClient.connect({ address: `127.0.0.1:${port}`, connectTimeoutMs: 300, env: {} }));
    expect(err).toBeInstanceOf(UnavailableError);
    expect(err.message).toContain(`127.0.0.1:${port}`);
    expect(err.message).toContain("NG_GRPC_ADDR");
    const lazy = new NeuroGraphClient({ address: `127.0.0.1:${port}`, retry: false, env: {} });
    try {
      expect(await rejectionOf(lazy.stats())).toBeInstanceOf(UnavailableError);
    } finally {
      lazy.close();
    }
  });

  it("rejects bad client options with every problem at once", () => {
    let err: unknown;
    try {
      new NeuroGraphClient({ address: "nohost", deadlineMs: -1, retry: { maxAttempts: 0 }, env: {} });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).violations.map((v) => v.field)).toEqual(["address", "deadlineMs", "retry.maxAttempts"]);
  });
});

describe("client retries", () => {
  let h: ClientHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it("retries an idempotent call that fails with UNAVAILABLE until it succeeds", async () => {
    h = await startClientHarness();
    await h.client.createTokens([{ id: 1, weight: 0.5 }]);
    h.flaky.failNext("getTokens", unavailable(), unavailable(), unavailable());
    const { tokens } = await h.client.getTokens([1]);
    expect(tokens[0]!.weight).toBe(0.5);
    expect(h.flaky.attemptsOf("getTokens")).toBe(4);
  });

  it("retries overload but not quota, and never INVALID_ARGUMENT", async () => {
    h = await startClientHarness();
    await h.client.createTokens([{ id: 1 }]);
    h.flaky.failNext("stats", new OverloadedError("mailbox of shard 0 is full"));
    expect((await h.client.stats()).tokens).toBe(1);
    expect(h.flaky.attemptsOf("stats")).toBe(2);

    h.flaky.failNext("updateTokens", new QuotaExceededError("max_tokens", 10, 10));
    expect(await rejectionOf(h.client.updateTokens([{ id: 1 }]))).toBeInstanceOf(QuotaExceededError);
    expect(h.flaky.attemptsOf("updateTokens")).toBe(1);

    h.flaky.failNext("getTokens", ValidationError.of("ids", [{ index: 0, field: "id", rule: "id_nonzero", description: "id must not be 0" }]));
    const err = await rejectionOf(h.client.getTokens([1]));
    expect(err).toBeInstanceOf(ValidationError);
    expect(h.flaky.attemptsOf("getTokens")).toBe(1);
  });

  it("does not retry calls that are not idempotent; creates with explicit ids are", async () => {
    h = await startClientHarness();
    h.flaky.failNext("createTokens", unavailable());
    expect(await rejectionOf(h.client.createTokens([{ weight: 0.1 }]))).toBeInstanceOf(UnavailableError);
    expect(h.flaky.attemptsOf("createTokens")).toBe(1);
    h.flaky.failNext("createTokens", unavailable());
    expect(Array.from((await h.client.createTokens([{ id: 5 }, { id: 6 }])).ids)).toEqual([5, 6]);
    expect(h.flaky.attemptsOf("createTokens")).toBe(3);
    h.flaky.failNext("connect", unavailable());
    expect(await rejectionOf(h.client.connect([{ source: 5, target: 6 }]))).toBeInstanceOf(UnavailableError);
    h.flaky.failNext("connect", unavailable());
    await h.client.connect([{ source: 5, target: 6 }], { idempotent: true });
    expect(h.flaky.attemptsOf("connect")).toBe(3);
  });

  it("gives up after maxAttempts, with retry: false, and when the retry budget is spent", async () => {
    h = await startClientHarness();
    h.flaky.failNext("stats", ...Array.from({ length: 5 }, unavailable));
    const err = await rejectionOf(h.client.stats({ retry: { maxAttempts: 3 } }));
    expect(err).toBeInstanceOf(UnavailableError);
    expect(err.message).toContain("shard 3 is moving");
    expect(h.flaky.attemptsOf("stats")).toBe(3);

    await rejectionOf(h.client.stats({ retry: false }));
    expect(h.flaky.attemptsOf("stats")).toBe(4);

    const thrifty = await h.newClient({ retryBudget: { maxTokens: 4, tokenRatio: 0.5 } });
    h.flaky.failNext("listShards", ...Array.from({ length: 10 }, unavailable));
    // 4 tokens: failures take 4 → 3 → 2; retries stop once the bucket is at half (2).
    await rejectionOf(thrifty.listShards());
    expect(h.flaky.attemptsOf("listShards")).toBe(2);
    await rejectionOf(thrifty.listShards());
    expect(h.flaky.attemptsOf("listShards")).toBe(3);
  });

  it("respects the deadline across attempts and honours the server's retry delay", async () => {
    h = await startClientHarness();
    // The server asks for 1 s before a retry; a 300 ms deadline leaves no room for one.
    const patient = await h.newClient({ retry: { maxBackoffMs: 5000 } });
    h.flaky.failNext("stats", unavailable(), unavailable());
    expect(await rejectionOf(patient.stats({ deadlineMs: 300 }))).toBeInstanceOf(UnavailableError);
    expect(h.flaky.attemptsOf("stats")).toBe(1);

    h.memory.hang = true;
    const err = await rejectionOf(h.client.getTokens([1], { deadlineMs: 200 }));
    expect(err).toBeInstanceOf(DeadlineExceededError);
    expect((err as NeuroGraphError).code).toBe(ErrorCode.DeadlineExceeded);
  });

  it("cancels a call when its signal aborts", async () => {
    h = await startClientHarness();
    h.memory.hang = true;
    const controller = new AbortController();
    const pending = h.client.stats({ signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    expect(await rejectionOf(pending)).toBeInstanceOf(CancelledError);
  });

  it("rolls a retried create forward: tokens an earlier attempt stored count as created, the missing ones are created", async () => {
    h = await startClientHarness();
    const records = encodeTokenInputs([{ id: 10, weight: 0.1 }, { id: 11, weight: 0.2 }, { id: 12, weight: 0.3 }], 1_700_000_000);
    // What a lost answer leaves behind: the first attempt was applied on some shards only.
    await h.client.createTokens(records.slice(0, 128));
    h.flaky.failNext("createTokens", unavailable());
    const retries: string[] = [];
    const res = await h.client.createTokens(records, { onRetry: (e) => retries.push(`${e.method}:${e.error.code}`) });
    expect(Array.from(res.ids)).toEqual([10, 11, 12]);
    expect(res.accepted).toBe(3);
    expect(retries).toEqual(["createTokens:UNAVAILABLE"]);
    expect((await h.client.getTokens([10, 11, 12])).tokens.map((t) => t.weight)).toEqual([0.1, 0.2, 0.3].map((w) => Math.fround(w)));

    // A token stored differently is someone else's: ALREADY_EXISTS stands, nothing more is created.
    await h.client.createTokens([{ id: 20, weight: 0.9 }]);
    h.flaky.failNext("createTokens", unavailable());
    const other = encodeTokenInputs([{ id: 20, weight: 0.1 }, { id: 21, weight: 0.1 }], 1_700_000_000);
    expect(await rejectionOf(h.client.createTokens(other))).toBeInstanceOf(AlreadyExistsError);
    expect((await h.client.getTokens([21], { allowMissing: true })).missing).toEqual(Uint32Array.of(21));

    // Without a retry, ALREADY_EXISTS is the answer as it is.
    expect(await rejectionOf(h.client.createTokens(records))).toBeInstanceOf(AlreadyExistsError);
  });

  it("spreads calls over several addresses and retries on a live node when one is down", async () => {
    h = await startClientHarness();
    const dead = await freePort();
    const c = new NeuroGraphClient({ addresses: [`127.0.0.1:${dead}`, h.address], retry: { initialBackoffMs: 5, maxBackoffMs: 20 }, env: {} });
    try {
      await c.createTokens([{ id: 7, weight: 0.5 }]);
      for (let i = 0; i < 5; i++) expect((await c.stats()).tokens).toBe(1);
    } finally {
      c.close();
    }
    const err = await rejectionOf(Promise.resolve().then(() => new NeuroGraphClient({ addresses: ["localhost:1", "127.0.0.1:2"], env: {} })));
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).violations.map((v) => v.field)).toEqual(["addresses"]);
  });
});
