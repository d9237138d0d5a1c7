/**
 * Input files of the client commands, read as streams (never whole into memory):
 * - tokens as JSON lines (one object per line, field names in camelCase or snake_case, e.g.
 *   `{"id": 7, "coords": {"l1": [1, 2, 3]}, "weight": 0.5, "entity_type": "concept"}`), or as a
 *   raw packed file of 64-byte records (`.bin`);
 * - connections and connection keys as JSON lines (`{"source": 1, "target": 2, "type": 80}`).
 * `-` reads standard input. Problems are ValidationErrors whose indices are record positions;
 * `LineMap` turns a position back into a line number for messages.
 */
import { createReadStream, statSync } from "node:fs";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { ValidationError, type FieldViolation } from "../../core/errors.ts";
import { encodeTokenInputs, TOKEN_RECORD_SIZE, type ConnectionInput, type ConnectionKey, type TokenInput } from "../../client/index.ts";
import { ExitCode, exitWith } from "./shared.ts";

export type TokenFileFormat = "jsonl" | "bin";

export interface InputFile {
  readonly stream: Readable;
  /** Bytes in the file; undefined for standard input and pipes. */
  readonly size: number | undefined;
  /** Bytes read so far. */
  bytesRead(): number;
}

/** Opens a file (or `-` for stdin); an unreadable file is a usage error (exit 2). */
export function openInput(file: string): InputFile {
  if (file === "-") {
    let read = 0;
    process.stdin.on("data", (chunk: Buffer) => (read += chunk.length));
    return { stream: process.stdin, size: undefined, bytesRead: () => read };
  }
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) return exitWith(ExitCode.Usage, `${file} is not a regular file`);
    size = st.size;
  } catch (err) {
    return exitWith(ExitCode.Usage, `cannot read ${file}: ${(err as { code?: string }).code === "ENOENT" ? "no such file" : String(err)}`);
  }
  const stream = createReadStream(file);
  return { stream, size, bytesRead: () => stream.bytesRead };
}

export function formatOf(file: string, given: string | undefined): TokenFileFormat {
  if (given === "jsonl" || given === "bin") return given;
  return file.toLowerCase().endsWith(".bin") ? "bin" : "jsonl";
}

/** Record position → line number of a JSON lines file with blank lines skipped. */
export class LineMap {
  /** Record position at which each skipped line occurred (ascending). */
  readonly #skips: number[] = [];
  skipAt(position: number): void {
    this.#skips.push(position);
  }
  line(position: number): number {
    let lo = 0;
    let hi = this.#skips.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#skips[mid]! <= position) lo = mid + 1;
      else hi = mid;
    }
    return position + 1 + lo;
  }
}

const TOKEN_KEYS: Readonly<Record<string, keyof TokenInput>> = {
  id: "id",
  coords: "coords",
  weight: "weight",
  fieldRadius: "fieldRadius",
  field_radius: "fieldRadius",
  fieldStrength: "fieldStrength",
  field_strength: "fieldStrength",
  timestamp: "timestamp",
  entityType: "entityType",
  entity_type: "entityType",
  level: "level",
  systemFlags: "systemFlags",
  system_flags: "systemFlags",
};

const CONNECTION_KEYS: Readonly<Record<string, keyof ConnectionInput>> = {
  source: "source",
  target: "target",
  type: "type",
  activeSpaces: "activeSpaces",
  active_spaces: "activeSpaces",
  flags: "flags",
  mutability: "mutability",
  rigidity: "rigidity",
  pullStrength: "pullStrength",
  pull_strength: "pullStrength",
  preferredDistance: "preferredDistance",
  preferred_distance: "preferredDistance",
  confidence: "confidence",
  learningRate: "learningRate",
  learning_rate: "learningRate",
  decayRate: "decayRate",
  decay_rate: "decayRate",
  createdAt: "createdAt",
  created_at: "createdAt",
};

/** Keys whose values may be text (names); all other scalar fields must be numbers. */
const TEXT_OK = new Set(["entityType", "mutability"]);

/** Parses one JSON line into an object with canonical keys, or adds violations. */
function parseObject<T>(line: string, index: number, keys: Readonly<Record<string, string>>, violations: FieldViolation[]): T | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    violations.push({ index, field: "", value: line.slice(0, 40), rule: "json", description: `not valid JSON (${err instanceof Error ? err.message : String(err)})` });
    return undefined;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    violations.push({ index, field: "", value: line.slice(0, 40), rule: "json_object", description: "each line must be one JSON object" });
    return undefined;
  }
  const out: Record<string, unknown> = {};
  const before = violations.length;
  for (const [k, v] of Object.entries(value)) {
    const key = keys[k];
    if (key === undefined) {
      violations.push({ index, field: k, rule: "unknown_field", description: `unknown field; known: ${[...new Set(Object.values(keys))].join(", ")}` });
    } else if (key !== "coords" && typeof v !== "number" && !(TEXT_OK.has(key) && typeof v === "string")) {
      violations.push({ index, field: k, value: JSON.stringify(v), rule: "type", description: `${k} must be a number${TEXT_OK.has(key) ? " or a name" : ""}` });
    } else {
      out[key] = v;
    }
  }
  return violations.length > before ? undefined : (out as T);
}

const TOKENS_PER_CHUNK = 2048;

/**
 * Packed records of a token file, in chunks. JSON lines are checked and encoded per chunk; the
 * first chunk with problems throws a ValidationError listing all of that chunk's problems.
 */
export async function* tokenRecords(input: InputFile, format: TokenFileFormat, lines: LineMap): AsyncGenerator<Uint8Array> {
  if (format === "bin") {
    let carry: Uint8Array = new Uint8Array(0);
    for await (const chunk of input.stream as AsyncIterable<Buffer>) {
      const bytes = carry.byteLength === 0 ? chunk : Buffer.concat([carry, chunk]);
      const whole = bytes.byteLength - (bytes.byteLength % TOKEN_RECORD_SIZE);
      if (whole > 0) yield new Uint8Array(bytes.buffer, bytes.byteOffset, whole);
      carry = bytes.subarray(whole);
    }
    if (carry.byteLength !== 0) {
      throw ValidationError.of("token file", [
        { field: "file", value: String(input.bytesRead()), rule: "record_size", description: `a .bin file holds 64-byte records; it ends with ${carry.byteLength} extra bytes` },
      ]);
    }
    return;
  }
  let batch: TokenInput[] = [];
  let first = 0;
  const violations: FieldViolation[] = [];
  const flush = (): Uint8Array => {
    if (violations.length > 0) throw ValidationError.of("token file", violations);
    const records = encodeTokenInputs(batch, Math.floor(Date.now() / 1000), first);
    first += batch.length;
    batch = [];
    return records;
  };
  for await (const line of createInterface({ input: input.stream, crlfDelay: Infinity })) {
    if (line.trim() === "") {
      lines.skipAt(first + batch.length);
      continue;
    }
    const token = parseObject<TokenInput>(line, first + batch.length, TOKEN_KEYS, violations);
    batch.push(token ?? {});
    if (batch.length === TOKENS_PER_CHUNK) yield flush();
  }
  if (batch.length > 0 || violations.length > 0) yield flush();
}

/** All objects of a small JSON lines file (connections, keys). */
export async function readObjects<T>(input: InputFile, keys: Readonly<Record<string, string>>, lines: LineMap): Promise<T[]> {
  const out: T[] = [];
  const violations: FieldViolation[] = [];
  for await (const line of createInterface({ input: input.stream, crlfDelay: Infinity })) {
    if (line.trim() === "") {
      lines.skipAt(out.length);
      continue;
    }
    out.push(parseObject<T>(line, out.length, keys, violations) ?? ({} as T));
  }
  if (violations.length > 0) throw ValidationError.of("input file", violations);
  return out;
}

export const readConnections = (input: InputFile, lines: LineMap): Promise<ConnectionInput[]> => readObjects<ConnectionInput>(input, CONNECTION_KEYS, lines);

export const readConnectionKeys = (input: InputFile, lines: LineMap): Promise<ConnectionKey[]> =>
  readObjects<ConnectionKey>(input, { source: "source", target: "target", type: "type" }, lines);
