/**
 * Whether this process's large buffers (token columns, id tables, snapshot reads) get transparent
 * huge pages. A node allocates hundreds of MB of fresh memory at start and while it grows; with
 * 4 KiB pages every page costs a fault (≈ 0.3 s of a 10 M-token restart here). Most distributions
 * set THP to `madvise`, and Node's allocator (glibc malloc) only asks for huge pages when told to
 * by `GLIBC_TUNABLES=glibc.malloc.hugetlb=1` (glibc ≥ 2.35). That variable must be set before the
 * process starts, so `npm start`, `npm run bench` and the image set it; a node started another
 * way says so once at start (see `hugePageAdvice`).
 */
import { readFileSync } from "node:fs";

export const HUGE_PAGE_TUNABLE = "glibc.malloc.hugetlb=1";

export interface HugePageStatus {
  /** The kernel's THP mode (`/sys/kernel/mm/transparent_hugepage/enabled`), or "unknown" off Linux. */
  readonly kernel: "always" | "madvise" | "never" | "unknown";
  /** GLIBC_TUNABLES asks malloc to madvise huge pages. */
  readonly malloc: boolean;
  /** Large allocations of this process get huge pages. */
  readonly effective: boolean;
}

export function hugePageStatus(env: NodeJS.ProcessEnv = process.env, modeFile = "/sys/kernel/mm/transparent_hugepage/enabled"): HugePageStatus {
  let kernel: HugePageStatus["kernel"] = "unknown";
  try {
    const m = /\[(always|madvise|never)\]/.exec(readFileSync(modeFile, "utf8"));
    if (m !== null) kernel = m[1] as HugePageStatus["kernel"];
  } catch {
    // Not Linux, or /sys not mounted (some containers): nothing to advise.
  }
  const malloc = (env.GLIBC_TUNABLES ?? "").split(":").some((t) => t.trim() === HUGE_PAGE_TUNABLE || t.trim() === "glibc.malloc.hugetlb=2");
  return { kernel, malloc, effective: kernel === "always" || (kernel === "madvise" && malloc) };
}

/** One line for the operator when huge pages are available but this process does not use them. */
export function hugePageAdvice(status: HugePageStatus = hugePageStatus()): string | undefined {
  if (status.kernel !== "madvise" || status.malloc) return undefined;
  return (
    `transparent huge pages are available (madvise) but not used by this process: start it with ` +
    `GLIBC_TUNABLES=${HUGE_PAGE_TUNABLE} (as npm start and the image do) for a faster restart and ingest`
  );
}
