import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ValidationError } from "../../../src/core/errors.ts";
import { Mailbox, RingBuffer, actorAddress, formatAddress, parseAddress } from "../../../src/runtime/index.ts";

describe("RingBuffer", () => {
  it("behaves like an array queue under any sequence of pushes and shifts (model-based)", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.integer(), fc.constant<"shift">("shift")), { maxLength: 3000 }), (ops) => {
        const ring = new RingBuffer<number>(2);
        const model: number[] = [];
        for (const op of ops) {
          if (op === "shift") expect(ring.shift()).toBe(model.shift());
          else {
            ring.push(op);
            model.push(op);
          }
          expect(ring.length).toBe(model.length);
          expect(ring.peek()).toBe(model[0]);
        }
        const rest: number[] = [];
        ring.drain((x) => rest.push(x));
        expect(rest).toEqual(model);
        expect(ring.length).toBe(0);
      }),
    );
  });

  it("stays FIFO across growth and the shrink after a large burst", () => {
    const ring = new RingBuffer<number>(4);
    for (let i = 0; i < 10_000; i++) ring.push(i);
    const out: (number | undefined)[] = [];
    for (let i = 0; i < 10_000; i++) out.push(ring.shift());
    expect(out).toEqual(Array.from({ length: 10_000 }, (_, i) => i));
    ring.push(1);
    ring.push(2);
    expect([ring.shift(), ring.shift(), ring.shift()]).toEqual([1, 2, undefined]);
  });
});

describe("Mailbox", () => {
  it("accepts up to capacity, refuses beyond, and force-enqueues runtime messages", () => {
    const m = new Mailbox<number>(3);
    expect([m.offer(1), m.offer(2), m.offer(3), m.offer(4)]).toEqual([true, true, true, false]);
    expect(m.isFull).toBe(true);
    m.force(5);
    expect(m.size).toBe(4);
    const out: number[] = [];
    m.drain((x) => out.push(x));
    expect(out).toEqual([1, 2, 3, 5]);
  });

  it("rejects a capacity that is not a positive integer", () => {
    expect(() => new Mailbox(0)).toThrow(ValidationError);
    expect(() => new Mailbox(1.5)).toThrow(ValidationError);
  });
});

describe("addresses", () => {
  it("round-trips kind/key through its string form", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z][a-z0-9_-]{0,20}$/), fc.stringMatching(/^[A-Za-z0-9_\-:~@+=]{1,30}$/), (kind, key) => {
        const a = actorAddress(kind, key);
        expect(parseAddress(formatAddress(a))).toEqual(a);
      }),
    );
    expect(formatAddress(actorAddress("shard", 7))).toBe("shard/7");
  });

  it("rejects addresses that cannot be a NATS subject token, saying why", () => {
    for (const bad of ["shard", "/7", "shard/", "Shard/7", "shard/7/8", "shard/a.b", "shard/a b", "shard/*", "shard/>"]) {
      expect(() => parseAddress(bad)).toThrow(ValidationError);
    }
    expect(() => parseAddress("shard/a.b")).toThrow(/actor key "a.b"/);
  });
});
