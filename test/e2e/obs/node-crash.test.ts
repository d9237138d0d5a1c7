/**
 * A real node in a child process: a deliberately failing actor is restarted by supervision and
 * its restart is a black-box event; a fatal error then writes a dump into `<data-dir>/crash/`
 * that names the cause and still holds the restart, and the process exits non-zero.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import type { BlackBoxEvent } from "../../../src/telemetry/index.ts";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..", "..");
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

interface Dump {
  reason: string;
  details?: { origin?: string };
  events: BlackBoxEvent[];
}

describe("a node that crashes", () => {
  it("records the supervised restart, then dumps the black box on the fatal error and exits non-zero", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "ng-node-crash-"));
    dirs.push(dataDir);
    const child = spawn(process.execPath, ["--import", "tsx", join(here, "fixtures", "node-crash-child.ts"), dataDir], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
    expect(code, stderr).toBe(1);

    // The failing message got an error reply, the restarted actor answered the next one.
    const report = JSON.parse(stdout.split("\n").find((l) => l.startsWith("{")) ?? "{}") as { failed?: string; pong?: string; restarts?: number };
    expect(report.failed).toContain("deliberate failure in the flaky actor");
    expect(report.pong).toBe("pong");
    expect(report.restarts).toBe(1);

    const crashDir = join(dataDir, "crash");
    expect(existsSync(crashDir)).toBe(true);
    const files = readdirSync(crashDir).filter((f) => f.endsWith(".json"));
    expect(files).toHaveLength(1);
    const dump = JSON.parse(readFileSync(join(crashDir, files[0] ?? ""), "utf8")) as Dump;
    expect(dump.reason).toBe("fatal uncaughtException: Error: deliberate fatal error after the restart");
    const restart = dump.events.find((e) => e.kind === "actor_restart");
    expect(restart?.source).toBe("flaky/1");
    expect(restart?.message).toContain("deliberate failure in the flaky actor");
    expect(restart?.attributes.attempt).toBe(1);
    expect(dump.events.at(-1)).toMatchObject({ kind: "fatal", source: "uncaughtException" });
    expect(dump.events.indexOf(restart!)).toBeLessThan(dump.events.length - 1);

    // The log says so too, with the stack.
    const lines = stderr.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>);
    const fatal = lines.find((l) => l.level === "fatal" && typeof l.err === "object");
    expect(String((fatal?.err as { stack?: string } | undefined)?.stack)).toContain("node-crash-child.ts");
  });
});
