/**
 * Requests that cannot be decoded. grpc-js answers a deserializer that throws with INTERNAL
 * ("Error deserializing request"), which blames the server for the client's bytes: e.g. a
 * uint64 above 2^53, which the generated decoders refuse. The services are registered with
 * deserializers that return an `UndecodableRequest` instead, and the handlers answer it with
 * INVALID_ARGUMENT (after the interceptors, so authentication still comes first).
 */
import type { MethodDefinition, ServiceDefinition } from "@grpc/grpc-js";
import { ValidationError } from "../core/errors.ts";

export class UndecodableRequest {
  constructor(readonly reason: string) {}
}

/** `definition` with deserializers that never throw (they return an UndecodableRequest). */
export function tolerantDefinition<D extends ServiceDefinition>(definition: D): D {
  const out: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const [name, method] of Object.entries(definition) as [string, MethodDefinition<unknown, unknown>][]) {
    out[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer): unknown => {
        try {
          return method.requestDeserialize(bytes);
        } catch (err) {
          return new UndecodableRequest(err instanceof Error ? err.message : String(err));
        }
      },
    };
  }
  return out as D;
}

/** The error a handler answers an undecodable request with. */
export function undecodable(request: UndecodableRequest): ValidationError {
  return ValidationError.of("request", [
    {
      field: "",
      value: request.reason,
      rule: "malformed_request",
      description: `the request message could not be decoded (${request.reason}); check the field types, e.g. 64-bit integers must stay below 2^53`,
    },
  ]);
}
