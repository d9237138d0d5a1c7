/**
 * Bearer-token authentication for selected services (AdminService): the metadata
 * `authorization: Bearer <token>` must carry the configured token. Missing → UNAUTHENTICATED,
 * wrong → PERMISSION_DENIED. The comparison is constant-time over SHA-256 digests, so neither the
 * token's content nor its length leaks through timing.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { ErrorCode, NeuroGraphError } from "../core/errors.ts";
import type { CallInfo, CallInterceptor } from "./handlers.ts";

function digest(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

export class BearerTokenAuth implements CallInterceptor {
  readonly #expected: Buffer;
  readonly #services: ReadonlySet<string>;

  /** `services`: full service names whose methods need the token. */
  constructor(token: string, services: readonly string[]) {
    this.#expected = digest(token);
    this.#services = new Set(services);
  }

  /** Throws the typed error when the call is not allowed; returns otherwise. */
  check(call: Pick<CallInfo, "service" | "metadata">): void {
    if (!this.#services.has(call.service)) return;
    const values = call.metadata.get("authorization");
    const header = values.length === 1 && typeof values[0] === "string" ? values[0] : undefined;
    const match = header === undefined ? null : /^Bearer[ ]+(\S+)\s*$/i.exec(header);
    if (match === null) {
      throw new NeuroGraphError(
        ErrorCode.Unauthenticated,
        `${call.service} needs the metadata "authorization: Bearer <admin token>" (the token the server was started with)`,
      );
    }
    if (!timingSafeEqual(digest(match[1]!), this.#expected)) {
      throw new NeuroGraphError(ErrorCode.PermissionDenied, `the bearer token is not valid for ${call.service}`);
    }
  }

  intercept<T>(call: CallInfo, next: () => Promise<T>): Promise<T> {
    this.check(call);
    return next();
  }
}
