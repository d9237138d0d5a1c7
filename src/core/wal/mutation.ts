/**
 * What a shard logs: every change to a shard's state is one resolved `ShardMutation` (ids
 * allocated, rejected items removed), so replaying the log re-applies it without validation and
 * rebuilds exactly the same store. Defined here (pure core) so the WAL codec can encode it;
 * `src/actors/shard-log.ts` re-exports it as the shard's durability seam.
 */

export type ShardMutation =
  /** Tokens created: packed 64-byte records with their final ids. */
  | { readonly kind: "tokens.insert"; readonly records: Uint8Array }
  /** Whole token records replaced (ids exist). */
  | { readonly kind: "tokens.update"; readonly records: Uint8Array }
  /** Tokens deleted, with every connection touching them in this shard. */
  | { readonly kind: "tokens.delete"; readonly ids: Uint32Array }
  /** Connections created or replaced: packed 64-byte connection records. Records whose source
   *  belongs to another shard are mirror in-edges of a local target. */
  | { readonly kind: "connections.upsert"; readonly records: Uint8Array }
  /** Connections removed by key; entry i is (sources[i], targets[i], types[i]). */
  | {
      readonly kind: "connections.remove";
      readonly sources: Uint32Array;
      readonly targets: Uint32Array;
      readonly types: Uint8Array;
    }
  /** A new constitution document (canonical encoding) became active. */
  | { readonly kind: "constitution.set"; readonly document: Uint8Array }
  /** Results of the field engine (positions, fields, hierarchy) as an encoded payload. */
  | { readonly kind: "field.result"; readonly payload: Uint8Array };

export type ShardMutationKind = ShardMutation["kind"];

/** Record types of the log (header byte 9). Values are part of the on-disk format. */
export const RecordType = {
  TokensInsert: 1,
  TokensUpdate: 2,
  TokensDelete: 3,
  ConnectionsUpsert: 4,
  ConnectionsRemove: 5,
  ConstitutionSet: 6,
  FieldResult: 7,
  SnapshotChunk: 64,
  SnapshotManifest: 65,
} as const;
export type RecordType = (typeof RecordType)[keyof typeof RecordType];

const KIND_TO_TYPE: Readonly<Record<ShardMutationKind, RecordType>> = {
  "tokens.insert": RecordType.TokensInsert,
  "tokens.update": RecordType.TokensUpdate,
  "tokens.delete": RecordType.TokensDelete,
  "connections.upsert": RecordType.ConnectionsUpsert,
  "connections.remove": RecordType.ConnectionsRemove,
  "constitution.set": RecordType.ConstitutionSet,
  "field.result": RecordType.FieldResult,
};

const TYPE_NAMES: ReadonlyMap<number, string> = new Map<number, string>([
  ...Object.entries(KIND_TO_TYPE).map(([k, t]) => [t, k] as [number, string]),
  [RecordType.SnapshotChunk, "snapshot.chunk"],
  [RecordType.SnapshotManifest, "snapshot.manifest"],
]);

export function recordTypeOf(kind: ShardMutationKind): RecordType {
  return KIND_TO_TYPE[kind];
}

/** `tokens.insert`, `snapshot.chunk`, …; `unknown(<n>)` for a value this version does not know. */
export function recordTypeName(type: number): string {
  return TYPE_NAMES.get(type) ?? `unknown(${type})`;
}

export function isKnownRecordType(type: number): boolean {
  return TYPE_NAMES.has(type);
}

export function isMutationRecordType(type: number): boolean {
  return type >= RecordType.TokensInsert && type <= RecordType.FieldResult;
}
