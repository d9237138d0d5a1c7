/**
 * Actor addresses: `(kind, key)`, written `kind/key` (e.g. `shard/7`, `wal/3`, `guardian/main`).
 * The characters allowed are a subset that maps 1:1 onto a NATS subject token, so the NATS
 * transport can use `ng.<cluster>.actor.<kind>.<key>` without escaping.
 */
import { ValidationError } from "../core/errors.ts";

export interface ActorAddress {
  /** What the actor is: `shard`, `wal`, `guardian`, … (lower case, digits, `-`, `_`). */
  readonly kind: string;
  /** Which one of its kind: `7`, `main`, … (letters, digits, `-`, `_`, `:`, `~`, `@`, `+`, `=`). */
  readonly key: string;
}

const KIND_RE = /^[a-z][a-z0-9_-]{0,63}$/;
const KEY_RE = /^[A-Za-z0-9_\-:~@+=]{1,128}$/;

export function isValidKind(kind: string): boolean {
  return KIND_RE.test(kind);
}

export function isValidKey(key: string): boolean {
  return KEY_RE.test(key);
}

/** Builds an address, rejecting characters that could not travel as a NATS subject token. */
export function actorAddress(kind: string, key: string | number): ActorAddress {
  const k = typeof key === "number" ? String(key) : key;
  const violations = [];
  if (!KIND_RE.test(kind)) {
    violations.push({
      field: "kind",
      value: kind,
      rule: "address_kind",
      description: `actor kind "${kind}" must start with a lower-case letter and contain only a-z, 0-9, '-', '_' (at most 64 characters)`,
    });
  }
  if (!KEY_RE.test(k)) {
    violations.push({
      field: "key",
      value: k,
      rule: "address_key",
      description: `actor key "${k}" must be 1-128 characters of A-Z, a-z, 0-9, '-', '_', ':', '~', '@', '+', '='`,
    });
  }
  if (violations.length > 0) throw ValidationError.of("actor address", violations);
  return Object.freeze({ kind, key: k });
}

/** `kind/key`. */
export function formatAddress(address: ActorAddress): string {
  return `${address.kind}/${address.key}`;
}

/** Parses `kind/key`; throws `ValidationError` naming what is wrong. */
export function parseAddress(text: string): ActorAddress {
  const slash = text.indexOf("/");
  if (slash <= 0 || slash === text.length - 1 || text.indexOf("/", slash + 1) !== -1) {
    throw ValidationError.of("actor address", [
      {
        field: "address",
        value: text,
        rule: "address_format",
        description: `"${text}" is not an actor address; expected kind/key, e.g. shard/7`,
      },
    ]);
  }
  return actorAddress(text.slice(0, slash), text.slice(slash + 1));
}

export function sameAddress(a: ActorAddress, b: ActorAddress): boolean {
  return a.kind === b.kind && a.key === b.key;
}
