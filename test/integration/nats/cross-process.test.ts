/** An actor system in a child process, reached over a real nats-server. */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UnavailableError, ValidationError } from "../../../src/core/errors.ts";
import { startNatsServer, type NatsServer } from "../../support/nats-server.ts";
import { type KvMsg } from "./fixtures/kv.ts";
import { closeAll, eventually, settle, startNode } from "./support.ts";

const fixture = fileURLToPath(new URL("./fixtures/remote-node.ts", import.meta.url));

function startChild(url: string, nodeId: string, ...keys: string[]): Promise<ChildProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", fixture, url, nodeId, ...keys], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.stdout?.on("data", (d: Buffer) => {
      if (d.toString().includes("ready")) resolve(child);
    });
    child.once("exit", (code) => reject(new Error(`child node exited (${code}) before ready:\n${stderr}`)));
  });
}

function exited(child: ChildProcess): Promise<number | null> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve(child.exitCode) : new Promise((r) => child.once("exit", (code) => r(code)));
}

/** Waits until the server has dropped the connection named `name` (and with it its subscriptions). */
async function serverForgot(name: string): Promise<void> {
  await eventually(`the server drops ${name}`, async () => {
    const connz = await server.monitor<{ connections?: { name?: string }[] }>("connz");
    return !(connz.connections ?? []).some((c) => c.name === name);
  });
}

let server: NatsServer;
beforeAll(async () => {
  server = await startNatsServer({ jetstream: false });
});
afterAll(async () => {
  await closeAll();
  await server.dispose();
});

describe("an actor system in another process", () => {
  it("answers typed asks and typed errors, and its death turns into UnavailableError", async () => {
    const child = await startChild(server.url, "child-1", "c1", "c2");
    try {
      const a = await startNode(server.url, "parent");
      const c1 = a.system.ref<KvMsg>("kv/c1");
      c1.tell({ type: "kv.put", key: "x", value: 11 });
      expect(await c1.ask({ type: "kv.get", key: "x" })).toBe(11);
      expect(await a.system.ref<KvMsg>("kv/c2").ask({ type: "kv.size" })).toBe(0);
      const seen = await c1.ask({ type: "kv.hdr" }, { headers: { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" } });
      expect(seen.headers.traceparent).toBe("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
      const bad = await settle(c1.ask({ type: "kv.fail", how: "validation" }));
      expect(!bad.ok && bad.error).toBeInstanceOf(ValidationError);

      child.kill("SIGKILL");
      await exited(child);
      await serverForgot("neurograph-child-1");
      const gone = await settle(c1.ask({ type: "kv.size" }));
      expect(!gone.ok && gone.error).toBeInstanceOf(UnavailableError);
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("a child that shuts down gracefully withdraws its actors", async () => {
    const child = await startChild(server.url, "child-2", "g1");
    const a = await startNode(server.url, "parent-2");
    expect(await a.system.ref<KvMsg>("kv/g1").ask({ type: "kv.size" })).toBe(0);
    child.kill("SIGTERM");
    expect(await exited(child)).toBe(0);
    await serverForgot("neurograph-child-2");
    const gone = await settle(a.system.ref<KvMsg>("kv/g1").ask({ type: "kv.size" }));
    expect(!gone.ok && gone.error).toBeInstanceOf(UnavailableError);
  });
});
