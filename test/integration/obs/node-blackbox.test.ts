/**
 * The black box of a real node through AdminService: a deliberately failing actor's supervised
 * restart and slow steps are listed; a dump on request lands in `<data-dir>/crash/` with them;
 * both need the admin token.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { Metadata, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Actor, type Ask } from "../../../src/runtime/index.ts";
import type { BlackBoxEvent } from "../../../src/telemetry/index.ts";
import { call, failure, startTestNode, type TestNode } from "../node/harness.ts";

const TOKEN = "blackbox-test-admin-token-0123456789";
type FlakyMsg = Ask<{ type: "flaky.fail" }, string> | Ask<{ type: "flaky.slow" }, string>;

class FlakyActor extends Actor<FlakyMsg> {
  async receive(m: FlakyMsg): Promise<string> {
    if (m.type === "flaky.fail") throw new Error("deliberate failure for the black box");
    await new Promise((r) => setTimeout(r, 30));
    return "slow";
  }
}

let t: TestNode;
const admin = (): Metadata => {
  const md = new Metadata();
  md.set("authorization", `Bearer ${TOKEN}`);
  return md;
};

beforeAll(async () => {
  // Turns over 10 ms are slow steps.
  t = await startTestNode(["--admin-token", TOKEN, "--slow-turn", "10ms"]);
  const flaky = t.node.system.spawn<FlakyMsg>("flaky/7", () => new FlakyActor());
  await expect(flaky.ask({ type: "flaky.fail" })).rejects.toThrow("deliberate failure for the black box");
  expect(await flaky.ask({ type: "flaky.slow" })).toBe("slow");
});

afterAll(async () => {
  await t?.close();
});

describe("the black box through AdminService", () => {
  it("lists the restart and the slow step, filtered by kind", async () => {
    const all = await call(t.admin.listBlackBoxEvents.bind(t.admin), { limit: 0, kinds: [] }, admin());
    expect(all.capacity).toBe(1000);
    const restarts = await call(t.admin.listBlackBoxEvents.bind(t.admin), { limit: 0, kinds: ["actor_restart"] }, admin());
    expect(restarts.events).toHaveLength(1);
    expect(restarts.events[0]?.source).toBe("flaky/7");
    expect(restarts.events[0]?.message).toContain("deliberate failure for the black box");
    expect(restarts.events[0]?.attributes.attempt).toBe("1");
    const slow = await call(t.admin.listBlackBoxEvents.bind(t.admin), { limit: 0, kinds: ["slow_step"] }, admin());
    expect(slow.events.some((e) => e.source === "flaky/7")).toBe(true);
    const newest = await call(t.admin.listBlackBoxEvents.bind(t.admin), { limit: 1, kinds: [] }, admin());
    expect(newest.events).toHaveLength(1);
    expect(newest.events[0]?.seq).toBe(all.events.at(-1)?.seq);
  });

  it("dumps on request into <data-dir>/crash/, naming the reason", async () => {
    const r = await call(t.admin.dumpBlackBox.bind(t.admin), { reason: "operator asked" }, admin());
    expect(dirname(r.path)).toBe(join(t.dataDir, "crash"));
    expect(existsSync(r.path)).toBe(true);
    const dump = JSON.parse(readFileSync(r.path, "utf8")) as { reason: string; events: BlackBoxEvent[] };
    expect(dump.reason).toBe("operator asked");
    expect(dump.events).toHaveLength(r.events);
    expect(dump.events.some((e) => e.kind === "actor_restart" && e.source === "flaky/7")).toBe(true);
  });

  it("needs the admin token", async () => {
    for (const p of [call(t.admin.dumpBlackBox.bind(t.admin), { reason: "" }, new Metadata()), call(t.admin.listBlackBoxEvents.bind(t.admin), { limit: 0, kinds: [] }, new Metadata())]) {
      expect((await failure(p)).code).toBe(status.UNAUTHENTICATED);
    }
  });
});
