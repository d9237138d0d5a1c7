/** The WAL's on-disk format: records, mutation payloads, snapshots, and the recovery rules. Pure. */
export {
  RecordType,
  isKnownRecordType,
  isMutationRecordType,
  recordTypeName,
  recordTypeOf,
  type ShardMutation,
  type ShardMutationKind,
} from "./mutation.ts";
export {
  MAX_SHARD_ID,
  RECORD_HEADER_SIZE,
  RECORD_OVERHEAD,
  RECORD_TRAILER_SIZE,
  WAL_FORMAT_VERSION,
  beginRecord,
  checkRecord,
  encodeRecord,
  isTornProblem,
  readRecordHeader,
  sealRecord,
  zeroedAllocator,
  type Allocator,
  type RecordCheck,
  type RecordExpectation,
  type RecordHeader,
  type RecordProblem,
} from "./record.ts";
export {
  PACKED_RECORD_SIZE,
  checkMutationShape,
  decodeMutationPayload,
  encodeMutationRecord,
  mutationItemCount,
  mutationPayloadSize,
} from "./payload.ts";
export {
  DEFAULT_SNAPSHOT_CHUNK_BYTES,
  SECTION_NAMES,
  SnapshotAssembler,
  SnapshotSection,
  decodeSnapshotChunk,
  decodeSnapshotManifest,
  encodeSnapshotChunk,
  encodeSnapshotManifest,
  planSnapshotChunks,
  type ChunkPlan,
  type DecodedChunk,
  type SnapshotContent,
  type SnapshotManifest,
} from "./snapshot.ts";
export { LogScan, type ReplayItem, type ScanProblem, type ScanProblemKind, type ScanResult } from "./scan.ts";
export { WireFormatError } from "./wire.ts";
