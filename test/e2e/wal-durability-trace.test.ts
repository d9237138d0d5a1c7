/**
 * The durability signal, checked at the system-call level (needs `strace`, Debian package
 * `strace`). The WAL opens LMDB with `overlappingSync: false`, so a commit is: write the data
 * pages, fdatasync the data file, write the meta page through LMDB's O_DSYNC descriptor. An
 * append may be acknowledged only after such a complete sync cycle that began after the append:
 * for every acknowledged LSN, between the child printing "P <lsn>" (appended) and "A <lsn>"
 * (durable) there must be an fdatasync of the data file followed by a write of the meta page.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const here = dirname(fileURLToPath(import.meta.url));
const fixture = join(here, "fixtures", "wal-child.ts");
const root = join(here, "..", "..");
const dir = mkdtempSync(join(tmpdir(), "ng-wal-strace-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("WAL durability at the system-call level", () => {
  it("acknowledges an append only after an fdatasync and an O_DSYNC meta-page write that followed it", async () => {
    const traceFile = join(dir, "trace.txt");
    const dataDir = join(dir, "data");
    const proc = spawn(
      "strace",
      // Every fdatasync returns 30 ms late, so an ack that does not wait for it would show.
      ["-f", "-e", "trace=openat,pwrite64,pwritev,write,fdatasync,fsync", "-e", "inject=fdatasync:delay_exit=30000", "-o", traceFile, process.execPath, "--import", "tsx", fixture, "trace", dataDir, "9", "2", "50"],
      { cwd: root, stdio: ["ignore", "ignore", "pipe"] },
    );
    let stderr = "";
    proc.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve, reject) => {
      proc.once("error", (e) => reject(new Error(`cannot run strace (install the strace package): ${e.message}`)));
      proc.once("exit", resolve);
    });
    expect(code, stderr).toBe(0);

    const lines = readFileSync(traceFile, "utf8").split("\n");
    const dataFds = new Set<string>();
    let metaFd: string | undefined;
    type TraceEvent = { kind: "sync" } | { kind: "meta" } | { kind: "P"; key: string } | { kind: "A"; key: string };
    const events: TraceEvent[] = [];
    for (const line of lines) {
      const open = /openat\(.*\/wal\/data\.mdb", ([A-Z_|]+).*\) = (\d+)$/.exec(line);
      if (open !== null) {
        if (open[1]!.includes("O_DSYNC")) metaFd = open[2]!;
        else dataFds.add(open[2]!);
        continue;
      }
      // Calls are counted where they start (strace splits calls that overlap another thread's
      // into "<unfinished ...>" and "<... resumed>" lines); within the writer thread the meta
      // write starts only after the fdatasync returned.
      const sync = /(?:fdatasync|fsync)\((\d+)[ )]/.exec(line);
      if (sync !== null && dataFds.has(sync[1]!)) events.push({ kind: "sync" });
      const pw = /pwrite64\((\d+),/.exec(line);
      if (pw !== null && pw[1] === metaFd) events.push({ kind: "meta" });
      const out = /write\(1, "([PA]) (\d+ \d+)\\n"/.exec(line);
      if (out !== null) events.push(out[1] === "P" ? { kind: "P", key: out[2]! } : { kind: "A", key: out[2]! });
    }
    expect(metaFd).toBeDefined();
    // State per appended key: 0 = appended, 1 = a data fdatasync followed, 2 = then a meta write.
    const progress = new Map<string, number>();
    let acked = 0;
    for (const e of events) {
      if (e.kind === "P") progress.set(e.key, 0);
      else if (e.kind === "sync") for (const [k, v] of progress) progress.set(k, v === 0 ? 1 : v);
      else if (e.kind === "meta") for (const [k, v] of progress) progress.set(k, v === 1 ? 2 : v);
      else {
        expect(progress.get(e.key), `LSN ${e.key} acknowledged before a full sync cycle after its append`).toBe(2);
        progress.delete(e.key);
        acked++;
      }
    }
    expect(acked).toBeGreaterThan(10);
  });
});
