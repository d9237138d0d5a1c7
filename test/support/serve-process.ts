/**
 * `neurograph serve` as a child process for the durability tests: started from the checkout's
 * `bin/neurograph.mjs` on free loopback ports, with its data in a given directory; can be
 * stopped gracefully (SIGTERM) or killed (SIGKILL).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

export const BIN = fileURLToPath(new URL("../../bin/neurograph.mjs", import.meta.url));

function baseEnv(dataDir: string): Record<string, string> {
  return { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "", NG_GRPC_ADDR: "127.0.0.1:0", NG_DATA_DIR: dataDir };
}

export interface ServeChild {
  readonly proc: ChildProcess;
  /** Resolves with `host:port` once the node serves; rejects when it exits first. */
  readonly serving: Promise<string>;
  readonly exit: Promise<number | null>;
  stderr(): string;
  kill(signal: NodeJS.Signals): void;
}

/** A node that has not served after this long is stuck: the test fails with its stderr instead of at its own timeout. */
const SERVING_TIMEOUT_MS = 180_000;

export function spawnServe(dataDir: string, args: readonly string[] = [], servingTimeoutMs = SERVING_TIMEOUT_MS, env: Record<string, string> = {}): ServeChild {
  const proc = spawn(process.execPath, [BIN, "serve", "--metrics-addr", "127.0.0.1:0", "--log-level", "warn", ...args], {
    env: { ...baseEnv(dataDir), ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let err = "";
  const exit = new Promise<number | null>((resolve) => proc.on("exit", (code) => resolve(code)));
  const serving = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`neurograph serve did not serve within ${servingTimeoutMs} ms (killed); stderr (end):\n${err.slice(-6000)}`));
      proc.kill("SIGKILL");
    }, servingTimeoutMs);
    timer.unref();
    proc.stderr?.on("data", (d: Buffer) => {
      err += d.toString();
      const m = /serving gRPC on (\S+) /.exec(err);
      if (m === null) return;
      clearTimeout(timer);
      resolve(m[1]!);
    });
    void exit.then((code) => {
      clearTimeout(timer);
      reject(new Error(`neurograph serve exited with ${code} before serving; stderr:\n${err}`));
    });
  });
  serving.catch(() => undefined);
  return { proc, serving, exit, stderr: () => err, kill: (signal) => void proc.kill(signal) };
}

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `neurograph <args>` to completion. */
export function runCli(args: readonly string[], env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "", ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** A small seeded PRNG (mulberry32). */
export function prng(seed: number): { next(): number; int(n: number): number } {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n) => Math.floor(next() * n) };
}
