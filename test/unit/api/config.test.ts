import { describe, expect, it } from "vitest";
import { Metadata } from "@grpc/grpc-js";
import { DEFAULT_GRPC_ADDRESS, parseAddress, resolveApiServerConfig } from "../../../src/api/config.ts";
import { BearerTokenAuth } from "../../../src/api/auth.ts";
import { ErrorCode, ValidationError, type NeuroGraphError } from "../../../src/core/errors.ts";

describe("parseAddress", () => {
  it.each([
    ["127.0.0.1:50051", "127.0.0.1", 50051],
    ["localhost:0", "localhost", 0],
    ["[::1]:65535", "[::1]", 65535],
    ["node-1.example.org:7000", "node-1.example.org", 7000],
  ])("accepts %s", (text, host, port) => {
    expect(parseAddress(text)).toEqual({ host, port });
  });

  it.each(["localhost", ":50051", "host:65536", "host:-1", "host:", "::1:50051", "my host:1", "host:12a"])("rejects %s with a reason", (text) => {
    expect(typeof parseAddress(text)).toBe("string");
  });
});

describe("resolveApiServerConfig", () => {
  it("applies the defaults", () => {
    const c = resolveApiServerConfig();
    expect(`${c.host}:${c.port}`).toBe(DEFAULT_GRPC_ADDRESS);
    expect(c.maxReceiveMessageBytes).toBe(16 * 1024 * 1024);
    expect(c.tls).toBeUndefined();
    expect(c.adminToken).toBeUndefined();
  });

  it("lists every bad option at once", () => {
    let err: unknown;
    try {
      resolveApiServerConfig({ address: "nowhere", maxReceiveMessageBytes: 1.5, adminToken: "short", limits: { maxBatchItems: 0, defaultResultLimit: 10, maxResultLimit: 5 } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).violations.map((v) => v.field)).toEqual(["address", "maxReceiveMessageBytes", "adminToken", "limits.maxBatchItems", "limits.defaultResultLimit"]);
  });
});

describe("BearerTokenAuth", () => {
  const auth = new BearerTokenAuth("0123456789abcdef-token", ["neurograph.v1.AdminService"]);
  const md = (value?: string): Metadata => {
    const m = new Metadata();
    if (value !== undefined) m.set("authorization", value);
    return m;
  };
  const codeOf = (service: string, metadata: Metadata): string | undefined => {
    try {
      auth.check({ service, metadata });
      return undefined;
    } catch (e) {
      return (e as NeuroGraphError).code;
    }
  };

  it("guards only the configured services", () => {
    expect(codeOf("neurograph.v1.TokenService", md())).toBeUndefined();
    expect(codeOf("neurograph.v1.AdminService", md())).toBe(ErrorCode.Unauthenticated);
    expect(codeOf("neurograph.v1.AdminService", md("Token 0123456789abcdef-token"))).toBe(ErrorCode.Unauthenticated);
    expect(codeOf("neurograph.v1.AdminService", md("Bearer wrong"))).toBe(ErrorCode.PermissionDenied);
    expect(codeOf("neurograph.v1.AdminService", md("Bearer 0123456789abcdef-token"))).toBeUndefined();
  });
});
