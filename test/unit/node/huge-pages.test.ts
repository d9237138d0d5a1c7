import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { HUGE_PAGE_TUNABLE, hugePageAdvice, hugePageStatus } from "../../../src/node/huge-pages.ts";

const dir = mkdtempSync(join(tmpdir(), "ng-thp-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function modeFile(content: string): string {
  const f = join(dir, `mode-${Math.random().toString(36).slice(2)}`);
  writeFileSync(f, content);
  return f;
}

describe("hugePageStatus", () => {
  it("reads the bracketed kernel mode and the malloc tunable among others", () => {
    const madvise = modeFile("always [madvise] never\n");
    expect(hugePageStatus({}, madvise)).toEqual({ kernel: "madvise", malloc: false, effective: false });
    expect(hugePageStatus({ GLIBC_TUNABLES: `glibc.malloc.arena_max=2:${HUGE_PAGE_TUNABLE}` }, madvise)).toEqual({ kernel: "madvise", malloc: true, effective: true });
    expect(hugePageStatus({ GLIBC_TUNABLES: "glibc.malloc.hugetlb=0" }, madvise).effective).toBe(false);
    expect(hugePageStatus({}, modeFile("[always] madvise never\n")).effective).toBe(true);
    expect(hugePageStatus({ GLIBC_TUNABLES: HUGE_PAGE_TUNABLE }, modeFile("always madvise [never]\n"))).toEqual({ kernel: "never", malloc: true, effective: false });
  });

  it("is unknown without the kernel file (not Linux, /sys not mounted)", () => {
    expect(hugePageStatus({ GLIBC_TUNABLES: HUGE_PAGE_TUNABLE }, join(dir, "missing"))).toEqual({ kernel: "unknown", malloc: true, effective: false });
  });
});

describe("hugePageAdvice", () => {
  it("advises the tunable only where madvise would give huge pages and it is unset", () => {
    expect(hugePageAdvice({ kernel: "madvise", malloc: false, effective: false })).toContain(`GLIBC_TUNABLES=${HUGE_PAGE_TUNABLE}`);
    expect(hugePageAdvice({ kernel: "madvise", malloc: true, effective: true })).toBeUndefined();
    expect(hugePageAdvice({ kernel: "always", malloc: false, effective: true })).toBeUndefined();
    expect(hugePageAdvice({ kernel: "never", malloc: false, effective: false })).toBeUndefined();
    expect(hugePageAdvice({ kernel: "unknown", malloc: false, effective: false })).toBeUndefined();
  });
});
