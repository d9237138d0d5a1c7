/** Bench clients run in their own process (DESIGN §8: the load generator is never the server). */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

/** Runs `bench/lib/<script>` under tsx and resolves with the JSON object of its last stdout line. */
export function runBenchChild(script: string, args: readonly (string | number)[]): Promise<Record<string, number>> {
  const path = fileURLToPath(new URL(`./${script}`, import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", path, ...args.map(String)], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.on("exit", (code) => {
      if (code !== 0) return reject(new Error(`${script} exited with ${code}`));
      try {
        resolve(JSON.parse(out.trim().split("\n").pop() ?? "") as Record<string, number>);
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  });
}
