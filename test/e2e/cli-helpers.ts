/**
 * Child processes for the CLI tests: `neurograph serve` (a real node on free loopback ports
 * with its data in a temporary directory) and one-shot `neurograph <command>` runs.
 */
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";

export const BIN = fileURLToPath(new URL("../../bin/neurograph.mjs", import.meta.url));

/** The environment of a child: PATH and HOME only, so no NG_* of the caller leaks in. */
function baseEnv(): Record<string, string> {
  return { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "" };
}

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `neurograph <args>` to completion. */
export function cli(args: readonly string[], env: Record<string, string>, stdin?: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...baseEnv(), ...env }, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin ?? "");
  });
}

export interface ServeProcess {
  /** `host:port` the node serves gRPC on. */
  readonly address: string;
  /** The node's process id (e.g. to stall it with SIGSTOP). */
  readonly pid: number;
  stderr(): string;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/** Starts `neurograph serve` with the given flags and environment; resolves once it serves. */
export async function startServe(dataDir: string, args: readonly string[] = [], env: Record<string, string> = {}): Promise<ServeProcess> {
  const child = spawn(process.execPath, [BIN, "serve", "--metrics-addr", "127.0.0.1:0", "--shards", "4", "--log-level", "warn", ...args], {
    env: { ...baseEnv(), NG_GRPC_ADDR: "127.0.0.1:0", NG_DATA_DIR: dataDir, ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let err = "";
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const address = await new Promise<string>((resolve, reject) => {
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
      const m = /serving gRPC on (\S+) /.exec(err);
      if (m !== null) resolve(m[1]!);
    });
    void exit.then((code) => reject(new Error(`neurograph serve exited with ${code} before serving; stderr:\n${err}`)));
  });
  return {
    address,
    pid: child.pid ?? -1,
    stderr: () => err,
    stop: () => {
      child.kill("SIGTERM");
      return exit;
    },
  };
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}
