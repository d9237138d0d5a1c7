import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client, credentials, type ServiceDefinition } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { startHarness, type Harness } from "./harness.ts";

/** The parts of ServerReflectionResponse the tests read (proto-loader objects, keepCase). */
interface ReflectionResponse {
  readonly list_services_response?: { readonly service: readonly { readonly name: string }[] };
  readonly file_descriptor_response?: { readonly file_descriptor_proto: readonly Buffer[] };
  readonly error_response?: { readonly error_code: number; readonly error_message: string };
}

const protoRoot = join(dirname(createRequire(import.meta.url).resolve("@grpc/reflection")), "..", "proto");

/** Sends one reflection request over a real grpc-js bidi stream and returns the answer. */
function reflect(address: string, version: "v1" | "v1alpha", request: Record<string, string>): Promise<ReflectionResponse> {
  const def = loadSync(`grpc/reflection/${version}/reflection.proto`, { includeDirs: [protoRoot], keepCase: true, oneofs: true, defaults: true });
  const method = (def[`grpc.reflection.${version}.ServerReflection`] as ServiceDefinition)["ServerReflectionInfo"]!;
  const client = new Client(address, credentials.createInsecure());
  return new Promise<ReflectionResponse>((resolve, reject) => {
    const stream = client.makeBidiStreamRequest(method.path, method.requestSerialize, method.responseDeserialize);
    stream.on("data", (res: ReflectionResponse) => {
      resolve(res);
      stream.end();
    });
    stream.on("error", reject);
    stream.write(request);
  }).finally(() => client.close());
}

describe("server reflection", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h.close());

  it.each(["v1", "v1alpha"] as const)("lists every service (%s)", async (version) => {
    const res = await reflect(h.address, version, { list_services: "*" });
    const names = res.list_services_response?.service.map((s) => s.name).sort();
    expect(names).toEqual([
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
      "neurograph.v1.AdminService",
      "neurograph.v1.FieldService",
      "neurograph.v1.GraphService",
      "neurograph.v1.TokenService",
    ]);
  });

  it("returns the descriptors of a service with its dependencies", async () => {
    const res = await reflect(h.address, "v1", { file_containing_symbol: "neurograph.v1.TokenService" });
    const files = res.file_descriptor_response?.file_descriptor_proto ?? [];
    const text = files.map((f) => f.toString("latin1")).join("\n");
    // @grpc/reflection serves one file per package (neurograph_v1.proto, google_rpc.proto, …).
    for (const name of ["TokenService", "CreateTokens", "IngestTokens", "TokenBatch", "neurograph_v1.proto", "google_rpc.proto", "FAILED_PRECONDITION"]) {
      expect(text).toContain(name);
    }
  });

  it("describes the error detail messages so clients can print them", async () => {
    for (const symbol of ["google.rpc.BadRequest", "google.rpc.Status", "neurograph.v1.Violations"]) {
      const res = await reflect(h.address, "v1", { file_containing_symbol: symbol });
      expect(res.error_response).toBeUndefined();
      expect(res.file_descriptor_response?.file_descriptor_proto.length).toBeGreaterThan(0);
    }
  });
});
