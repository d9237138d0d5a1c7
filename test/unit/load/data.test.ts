import { describe, expect, it } from "vitest";
import { Random, preloadEdges, tokenRecords } from "../../../src/load/data.ts";
import { TOKEN_RECORD_SIZE, TokenOffset } from "../../../src/core/token/layout.ts";

describe("load data", () => {
  it("Random is deterministic and in range", () => {
    const a = new Random(7);
    const b = new Random(7);
    for (let i = 0; i < 1000; i++) {
      const x = a.next();
      expect(x).toBe(b.next());
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
      const n = a.int(3, 9);
      b.int(3, 9);
      expect(n).toBeGreaterThanOrEqual(3);
      expect(n).toBeLessThanOrEqual(9);
    }
  });

  it("token records carry consecutive ids (or 0 to allocate)", () => {
    const bytes = tokenRecords(10, 100, new Random(1), 1234);
    expect(bytes.byteLength).toBe(10 * TOKEN_RECORD_SIZE);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < 10; i++) {
      expect(view.getUint32(i * TOKEN_RECORD_SIZE + TokenOffset.id, true)).toBe(100 + i);
      expect(view.getFloat32(i * TOKEN_RECORD_SIZE + TokenOffset.weight, true)).toBe(0.5);
      expect(view.getUint32(i * TOKEN_RECORD_SIZE + TokenOffset.timestamp, true)).toBe(1234);
    }
    const alloc = new DataView(tokenRecords(3, 0, new Random(1)).buffer);
    expect(alloc.getUint32(TOKEN_RECORD_SIZE + TokenOffset.id, true)).toBe(0);
  });

  it("preload edges stay in range, skip self-loops and repeat no target", () => {
    const edges = preloadEdges(1, 50, 50, 4, 3);
    expect(edges).toHaveLength(200);
    const seen = new Set<string>();
    for (const e of edges) {
      expect(e.source).not.toBe(e.target);
      expect(e.target).toBeGreaterThanOrEqual(1);
      expect(e.target).toBeLessThanOrEqual(50);
      const key = `${e.source}-${e.target}`;
      expect(seen.has(key)).toBe(false);
      seen.add(key);
    }
    expect(preloadEdges(1, 3, 3, 10, 1)).toHaveLength(6);
    expect(preloadEdges(1, 1, 1, 4, 1)).toEqual([]);
  });
});
