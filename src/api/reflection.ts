/**
 * gRPC server reflection (v1 and v1alpha, via `@grpc/reflection`), so `grpcurl` and IDE clients
 * can list and call the services without the .proto files. The descriptors come from our
 * `proto/` directory, loaded by `@grpc/proto-loader`, plus the reflection protos themselves so
 * that the reflection service appears in the listing too.
 */
import { readdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { Server } from "@grpc/grpc-js";
import { loadSync, type PackageDefinition } from "@grpc/proto-loader";
import { ReflectionService } from "@grpc/reflection";
import { InternalError } from "../core/errors.ts";

/** The `proto/` directory of this package (the wire contract). */
export const PROTO_ROOT = fileURLToPath(new URL("../../proto/", import.meta.url));

const REFLECTION_PROTOS = ["grpc/reflection/v1/reflection.proto", "grpc/reflection/v1alpha/reflection.proto"];

function reflectionProtoRoot(): string {
  const entry = createRequire(import.meta.url).resolve("@grpc/reflection");
  // build/src/index.js → build/proto
  return join(dirname(entry), "..", "proto");
}

function protoFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...protoFiles(path));
    else if (name.endsWith(".proto")) out.push(relative(PROTO_ROOT, path).split(sep).join("/"));
  }
  return out;
}

let cached: PackageDefinition | undefined;

/** Every service and message of `proto/`, plus the reflection service, as descriptors (parsed once). */
export function loadReflectionDefinition(): PackageDefinition {
  cached ??= loadSync([...protoFiles(PROTO_ROOT), ...REFLECTION_PROTOS], {
    includeDirs: [PROTO_ROOT, reflectionProtoRoot()],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  return cached;
}

type Handlers = Parameters<Server["addService"]>[1];
type ServiceDefinition = Parameters<Server["addService"]>[0];

/** The reflection services' methods by path ("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"). */
function collectHandlers(service: ReflectionService, into: Map<string, Handlers[string]>): void {
  service.addToServer({
    addService(def: ServiceDefinition, impl: Handlers) {
      for (const [name, method] of Object.entries(def)) {
        const h = impl[name];
        if (h !== undefined) into.set(method.path, h);
      }
    },
  });
}

/**
 * Adds the reflection service (v1 and v1alpha) to a server. Describing every proto file takes
 * ~0.5 s of CPU, which would delay every node start (and its recovery) for a service few calls
 * use: the services are registered at once, their descriptors built on the first reflection call.
 */
export function addReflection(server: Pick<Server, "addService">, definition?: PackageDefinition): void {
  let full: Map<string, Handlers[string]> | undefined;
  const real = (path: string): Handlers[string] => {
    if (full === undefined) {
      full = new Map<string, Handlers[string]>();
      collectHandlers(new ReflectionService(definition ?? loadReflectionDefinition()), full);
    }
    const h = full.get(path);
    if (h === undefined) throw new InternalError(`reflection method ${path} is missing from @grpc/reflection; check its version`);
    return h;
  };
  // A service over no packages registers the same two services cheaply; its handlers are replaced.
  new ReflectionService({}).addToServer({
    addService(def: ServiceDefinition, impl: Handlers) {
      const lazy: Handlers = {};
      for (const [name, method] of Object.entries(def)) {
        if (impl[name] === undefined) continue;
        lazy[name] = ((call: never, callback: never) => (real(method.path) as (c: never, cb: never) => void)(call, callback)) as Handlers[string];
      }
      server.addService(def, lazy);
    },
  });
}
