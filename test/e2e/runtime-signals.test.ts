import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const fixture = fileURLToPath(new URL("./fixtures/runtime-signal-node.ts", import.meta.url));

interface Run {
  child: ChildProcess;
  lines: string[];
  waitFor(text: string): Promise<void>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function run(mode: string): Run {
  const child = spawn(process.execPath, ["--import", "tsx", fixture, mode], { stdio: ["ignore", "pipe", "pipe"] });
  const lines: string[] = [];
  const watchers: { text: string; resolve: () => void }[] = [];
  let buffer = "";
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  child.stdout?.on("data", (d: Buffer) => {
    buffer += d.toString();
    let nl: number;
    while ((nl = buffer.indexOf("\n")) !== -1) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      lines.push(line);
      for (const w of watchers.filter((w) => line.includes(w.text))) w.resolve();
    }
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    lines,
    exit,
    waitFor: (text) =>
      lines.some((l) => l.includes(text))
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => {
            watchers.push({ text, resolve });
            void exit.then(() => reject(new Error(`exited before "${text}"; stdout:\n${lines.join("\n")}\nstderr:\n${stderr}`)));
          }),
  };
}

describe("node shutdown on signals", () => {
  it("SIGTERM drains queued work, then stops components in reverse order and exits 0", async () => {
    const r = run("graceful");
    await r.waitFor("ready");
    r.child.kill("SIGTERM");
    const { code } = await r.exit;
    expect(code).toBe(0);
    const at = (text: string): number => r.lines.findIndex((l) => l.includes(text));
    expect(r.lines).toContain("signal: queued=39"); // plus one in flight: nothing had completed yet
    expect(r.lines).toContain("store: close (processed=40)");
    const order = [
      "store: open",
      "ingress: listening",
      "ready",
      "received SIGTERM",
      "ingress: no longer accepting",
      "draining actor-system",
      "stopping ingress",
      "ingress: closed",
      "stopping actor-system",
      "stopping store",
      "store: close",
      "node: stopped",
    ].map(at);
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });

  it("a second signal forces an immediate exit with 128 + signal number", async () => {
    const r = run("stuck");
    await r.waitFor("ready");
    r.child.kill("SIGTERM");
    await r.waitFor("draining actor-system");
    r.child.kill("SIGTERM");
    const { code } = await r.exit;
    expect(code).toBe(143);
    expect(r.lines.some((l) => l.includes("forcing exit"))).toBe(true);
    expect(r.lines.some((l) => l.includes("store: close"))).toBe(false);
  });
});
