/**
 * Canonical binary encoding and checksum of the constitution.
 *
 * Canonical bytes = the protobuf encoding of the document with `checksum` = 0. ts-proto writes
 * fields in field-number order (the .proto declares them in that order), omits zero scalars and
 * empty bytes/strings/arrays, and the message has no maps and keeps no unknown fields, so the
 * encoding is a function of the field values: equal documents give equal bytes. The one value
 * the encoder would otherwise keep apart from its equal is −0 inside the packed `cell_size`
 * array; it is written as +0.
 *
 * The checksum is CRC32C of the canonical bytes. The stored form (`encodeConstitution`) is the
 * canonical encoding with the checksum field filled in (field 1, so it comes first).
 */
import { Constitution } from "../../gen/neurograph/v1/constitution.ts";
import { ValidationError } from "../errors.ts";
import { crc32c } from "../util/crc32c.ts";
import { defaultSections } from "./defaults.ts";

function normalised(doc: Constitution, checksum: number): Constitution {
  const physics = doc.physics === undefined ? undefined : { ...doc.physics, cellSize: doc.physics.cellSize.map((v) => (v === 0 ? 0 : v)) };
  return { ...doc, physics, checksum };
}

/** The canonical encoding: checksum zeroed. This is what the checksum covers. */
export function canonicalBytes(doc: Constitution): Uint8Array {
  return Constitution.encode(normalised(doc, 0)).finish();
}

/** CRC32C of the canonical encoding. */
export function computeChecksum(doc: Constitution): number {
  return crc32c(canonicalBytes(doc));
}

/** A copy of `doc` with its checksum set to the value its contents require. */
export function sealConstitution(doc: Constitution): Constitution {
  return { ...doc, checksum: computeChecksum(doc) };
}

/** The stored and transmitted form: canonical encoding with the document's checksum field. */
export function encodeConstitution(doc: Constitution): Uint8Array {
  return Constitution.encode(normalised(doc, doc.checksum)).finish();
}

/**
 * Decodes a stored or received document. Malformed protobuf is a ValidationError; whether the
 * contents are valid (including the checksum) is for `validateConstitution` to say.
 */
export function decodeConstitution(bytes: Uint8Array): Constitution {
  try {
    return Constitution.decode(bytes);
  } catch (err: unknown) {
    const reason = err instanceof Error ? err.message : String(err);
    throw ValidationError.of("constitution", [
      {
        field: "constitution",
        rule: "malformed",
        value: `${bytes.length} bytes`,
        description: `not a decodable Constitution protobuf message (${reason}); send the bytes of an encoded neurograph.v1.Constitution`,
      },
    ]);
  }
}

/**
 * A deep copy that keeps every value as it is (also invalid ones, which the encoder would
 * refuse), so a document can be patched and validated before it is ever encoded.
 */
export function cloneConstitution(doc: Constitution): Constitution {
  return {
    checksum: doc.checksum,
    metadata: doc.metadata && { ...doc.metadata },
    tokens: doc.tokens && { ...doc.tokens },
    connections: doc.connections && { ...doc.connections, allowedTypes: copyBytes(doc.connections.allowedTypes) },
    physics: doc.physics && { ...doc.physics, cellSize: copyArray(doc.physics.cellSize) },
    fields: doc.fields && { ...doc.fields },
    learning: doc.learning && { ...doc.learning },
    quotas: doc.quotas && { ...doc.quotas },
    sampling: doc.sampling && { ...doc.sampling },
    validation: doc.validation && { ...doc.validation },
  };
}

// Documents may come from untyped sources (JSON, fromPartial): copy what is there, as it is.
function copyBytes(b: Buffer): Buffer {
  return b instanceof Uint8Array ? Buffer.from(b) : b;
}

function copyArray(a: number[]): number[] {
  return Array.isArray(a) ? [...a] : a;
}

/** The sealed default document (version 1, profile Default). */
export function defaultConstitution(createdAtUnixMs = 0): Constitution {
  return sealConstitution(defaultSections(createdAtUnixMs));
}
