/**
 * Message typing. Every message is an object with a string `type` discriminant (its *type name*,
 * also used on the wire to pick a codec). A message that expects a reply declares the reply type
 * with `Ask<…, R>`; callers then get `Promise<R>` from `ask` without casts:
 *
 *   type CounterMsg =
 *     | { type: "counter.add"; by: number }                 // tell: no reply
 *     | Ask<{ type: "counter.get" }, number>;               // ask: replies a number
 *
 *   const n: number = await counter.ask({ type: "counter.get" });
 */

declare const replyBrand: unique symbol;

export interface Message {
  readonly type: string;
}

/** A message whose reply has type `R` (a phantom marker; nothing is added at run time). */
export type Ask<M extends Message, R> = M & { readonly [replyBrand]?: R };

/** The reply type of message `T` (`void` for messages without `Ask`); distributes over unions. */
export type ReplyOf<T> = T extends unknown
  ? typeof replyBrand extends keyof T
    ? T extends { readonly [replyBrand]?: infer R }
      ? R
      : never
    : void
  : never;

/** The reply type for the message of protocol `M` whose type name is `K`. */
export type ReplyFor<M extends Message, K extends string> = ReplyOf<Extract<M, { readonly type: K }>>;

/** String headers carried with a message (W3C `traceparent`/`tracestate`, …). */
export type Headers = Readonly<Record<string, string>>;

export const EMPTY_HEADERS: Headers = Object.freeze({});

/** Header names with a meaning to the runtime and its transports. */
export const HeaderName = {
  traceparent: "traceparent",
  tracestate: "tracestate",
  /** Absolute deadline, epoch milliseconds, decimal. */
  deadline: "deadline",
} as const;
