/**
 * Child-process crash tests: a fatal error writes a black-box dump that names the cause and the
 * process exits non-zero; SIGUSR2 writes a dump and the process keeps running.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import type { BlackBoxEvent } from "../../../src/telemetry/index.ts";

const here = dirname(fileURLToPath(import.meta.url));
const fixture = join(here, "fixtures", "crash-child.ts");
const root = join(here, "..", "..", "..");

interface Dump {
  reason: string;
  details?: { origin?: string; error?: { error_message?: string; stack?: string } };
  process: { pid: number };
  stats: { recorded: number };
  events: BlackBoxEvent[];
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function startChild(mode: string) {
  const dataDir = mkdtempSync(join(tmpdir(), "ng-crash-"));
  dirs.push(dataDir);
  const child = spawn(process.execPath, ["--import", "tsx", fixture, mode, dataDir], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, dataDir, exited, out: () => stdout, err: () => stderr };
}

function dumps(dataDir: string): string[] {
  const dir = join(dataDir, "crash");
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".json")).sort().map((f) => join(dir, f)) : [];
}

function logLines(stderr: string): Record<string, unknown>[] {
  return stderr.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe("fatal errors in a child process", () => {
  it("an uncaught exception is logged with its stack, dumped, cleaned up and exits non-zero", async () => {
    const c = startChild("uncaught");
    const code = await c.exited;
    expect(code).toBe(1);
    const files = dumps(c.dataDir);
    expect(files).toHaveLength(1);
    const name = files[0]?.split("/").pop() ?? "";
    expect(name).toMatch(new RegExp(`^blackbox-\\d{4}-\\d\\d-\\d\\dT\\d\\d-\\d\\d-\\d\\d\\.\\d{3}Z-${c.child.pid}-1\\.json$`));
    const dump = JSON.parse(readFileSync(files[0] ?? "", "utf8")) as Dump;
    expect(dump.reason).toBe("fatal uncaughtException: Error: deliberate uncaught failure in shard 9");
    expect(dump.details?.origin).toBe("uncaughtException");
    expect(dump.details?.error?.stack).toContain("crash-child.ts");
    expect(dump.process.pid).toBe(c.child.pid);
    expect(dump.events.map((e) => e.kind)).toEqual(["generic", "actor_restart", "fatal"]);
    expect(dump.events[1]?.source).toBe("shard/2");
    const fatal = logLines(c.err()).find((l) => l.level === "fatal" && typeof l.err === "object");
    expect(fatal?.msg).toContain("deliberate uncaught failure in shard 9");
    expect(String((fatal?.err as { stack?: string }).stack)).toContain("crash-child.ts");
    expect(logLines(c.err()).some((l) => l.msg === "black box dumped" && l.path === files[0])).toBe(true);
    expect(c.out()).toContain("cleanup ran");
  });

  it("an unhandled rejection is fatal too and names its cause", async () => {
    const c = startChild("rejection");
    expect(await c.exited).toBe(1);
    const files = dumps(c.dataDir);
    expect(files).toHaveLength(1);
    const dump = JSON.parse(readFileSync(files[0] ?? "", "utf8")) as Dump;
    expect(dump.reason).toBe("fatal unhandledRejection: TypeError: deliberate rejected promise");
    expect(dump.events.at(-1)).toMatchObject({ kind: "fatal", source: "unhandledRejection" });
  });
});

describe("SIGUSR2", () => {
  it("dumps the black box on each signal without stopping the process", async () => {
    const c = startChild("signal");
    try {
      await waitFor(() => c.out().includes("ready"), "the child to start");
      c.child.kill("SIGUSR2");
      await waitFor(() => dumps(c.dataDir).length === 1 && parses(dumps(c.dataDir)[0]), "the first dump");
      c.child.kill("SIGUSR2");
      await waitFor(() => dumps(c.dataDir).length === 2 && parses(dumps(c.dataDir)[1]), "the second dump");
      expect(c.child.exitCode).toBeNull();
      const [first, second] = dumps(c.dataDir).map((f) => JSON.parse(readFileSync(f, "utf8")) as Dump);
      expect(first?.reason).toBe("signal SIGUSR2");
      expect(first?.events[0]?.message).toBe("child started");
      expect(second?.stats.recorded).toBeGreaterThanOrEqual(first?.stats.recorded ?? Infinity);
      await waitFor(() => logLines(c.err()).filter((l) => l.msg === "black box dumped on SIGUSR2").length === 2, "the dump log lines");
    } finally {
      c.child.kill("SIGTERM");
      await c.exited;
    }
  });
});

function parses(file: string | undefined): boolean {
  if (file === undefined) return false;
  try {
    JSON.parse(readFileSync(file, "utf8"));
    return true;
  } catch {
    return false;
  }
}

async function waitFor(cond: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
