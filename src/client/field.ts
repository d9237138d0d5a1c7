/**
 * The field engine's calls (FieldService): `client.field.step(10)`, `client.field.fields()`, ….
 * Results are the plain protobuf messages (numbers and arrays); `step` and `run` are not
 * retried (not idempotent), queries are.
 */
import type {
  FieldRunStatus,
  FieldServiceClient,
  GetHierarchyResponse,
  SemanticField,
  StepResponse,
} from "../gen/neurograph/v1/field_service.ts";
import { rpc, type CallOptions, type Invoker } from "./rpc.ts";

export type { FieldRunStatus, GetHierarchyResponse as FieldHierarchy, SemanticField, StepResponse as FieldStepReport };

export interface ListFieldsOptions {
  /** Space index 0..7 (L1..L8); default every space. */
  readonly space?: number;
  /** Hierarchy level of the members; default every level. */
  readonly level?: number;
  readonly withMembers?: boolean;
}

export class FieldClient {
  readonly #invoker: Invoker;
  readonly #stub: FieldServiceClient;

  constructor(invoker: Invoker, stub: FieldServiceClient) {
    this.#invoker = invoker;
    this.#stub = stub;
  }

  step(steps: number, options: CallOptions = {}): Promise<StepResponse> {
    return this.#invoker.unary(rpc(this.#stub, "step"), { steps }, false, options);
  }

  run(stepsPerSecond: number, options: CallOptions = {}): Promise<FieldRunStatus> {
    return this.#invoker.unary(rpc(this.#stub, "run"), { stepsPerSecond }, false, options);
  }

  stop(options: CallOptions = {}): Promise<FieldRunStatus> {
    return this.#invoker.unary(rpc(this.#stub, "stop"), {}, true, options);
  }

  status(options: CallOptions = {}): Promise<FieldRunStatus> {
    return this.#invoker.unary(rpc(this.#stub, "getStatus"), {}, true, options);
  }

  async fields(query: ListFieldsOptions = {}, options: CallOptions = {}): Promise<SemanticField[]> {
    const req = { withMembers: query.withMembers === true, ...(query.space === undefined ? {} : { space: query.space }), ...(query.level === undefined ? {} : { level: query.level }) };
    return (await this.#invoker.unary(rpc(this.#stub, "listFields"), req, true, options)).fields;
  }

  field(id: number, options: CallOptions = {}): Promise<SemanticField> {
    return this.#invoker.unary(rpc(this.#stub, "getField"), { id }, true, options);
  }

  hierarchy(token: number, options: CallOptions = {}): Promise<GetHierarchyResponse> {
    return this.#invoker.unary(rpc(this.#stub, "getHierarchy"), { token }, true, options);
  }
}
