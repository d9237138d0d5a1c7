/** Typed errors for requests over NATS that failed (timeout, no responders, closed) or could not be sent. */
import { errors as natsErrors } from "@nats-io/transport-node";
import { DeadlineExceededError, InternalError, UnavailableError, ValidationError, type NeuroGraphError } from "../../core/errors.ts";
import type { Envelope } from "../transport.ts";
import type { RequestFailure } from "./reply-mux.ts";

/** A request that was sent but got no reply. */
export function requestFailure(reason: RequestFailure, detail: unknown, envelope: Envelope, waitedMs: number, cluster: string, nodeId: string): NeuroGraphError {
  const what = `"${envelope.typeName}" to ${envelope.to}`;
  switch (reason) {
    case "timeout":
      return new DeadlineExceededError(`${what} over NATS got no reply within ${waitedMs} ms; the actor may be overloaded or stuck, or its node unreachable`);
    case "no_responders":
      return new UnavailableError(`no node of cluster ${cluster} serves actor ${envelope.to} (NATS: no responders); it may be starting, moving or down; retry`);
    case "moved":
      return new UnavailableError(
        `the owner of ${envelope.to} changed while ${what} was in flight over NATS and no reply came (it may or may not have been applied); retry`,
      );
    case "closed":
      return new UnavailableError(
        `the NATS connection of node ${nodeId} closed before ${what} was answered${detail instanceof Error ? ` (${detail.message})` : ""}; retry`,
      );
  }
}

/** An error thrown by `publish` (before anything was sent). */
export function publishError(err: unknown, envelope: Envelope, nodeId: string): NeuroGraphError {
  const what = `"${envelope.typeName}" to ${envelope.to}`;
  if (err instanceof natsErrors.ClosedConnectionError || err instanceof natsErrors.DrainingConnectionError) {
    return new UnavailableError(`the NATS connection of node ${nodeId} is closing; ${what} was not sent`);
  }
  if (err instanceof natsErrors.InvalidArgumentError && /max_payload/.test(err.message)) {
    return ValidationError.of("actor message", [
      { field: "payload", rule: "max_message_bytes", description: `${what} is larger than the NATS server's max_payload; split it into smaller batches` },
    ]);
  }
  if (err instanceof InternalError || err instanceof ValidationError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new UnavailableError(`${what} could not be sent over NATS (${detail}); retry`, { cause: err });
}
