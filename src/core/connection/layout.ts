/**
 * The 64-byte little-endian connection record: wire, WAL and snapshot format of a connection.
 * Direction is kept: the connection goes from `source` (a) to `target` (b).
 *
 * | off | size | field              | type | meaning                                         |
 * |-----|------|--------------------|------|-------------------------------------------------|
 * |   0 |    4 | source             | u32  | token id a (the owning shard is a's shard)       |
 * |   4 |    4 | target             | u32  | token id b                                       |
 * |   8 |    1 | type               | u8   | 0x00-0xAF, 11 categories of 16                   |
 * |   9 |    1 | active_spaces      | u8   | bit s = spring acts in space s; 0 = all spaces   |
 * |  10 |    2 | flags              | u16  | CONNECTION_FLAGS                                 |
 * |  12 |    1 | mutability         | u8   | 0 Immutable, 1 Learnable, 2 Hypothesis           |
 * |  13 |    3 | reserved           |      | zero                                             |
 * |  16 |    4 | rigidity           | f32  | 0..1                                             |
 * |  20 |    4 | pull_strength      | f32  | -10..10, negative repels                         |
 * |  24 |    4 | preferred_distance | f32  | 0.01..100, decoded units                         |
 * |  28 |    4 | confidence         | f32  | 0..1                                             |
 * |  32 |    4 | learning_rate      | f32  | 0..1                                             |
 * |  36 |    4 | decay_rate         | f32  | 0..1, per hour of inactivity (Hypothesis only)   |
 * |  40 |    4 | activation_count   | u32  |                                                  |
 * |  44 |    4 | evidence_count     | u32  | feedback observations (successes + failures)     |
 * |  48 |    4 | success_count      | u32  | successful observations                          |
 * |  52 |    4 | created_at         | u32  | unix seconds                                     |
 * |  56 |    4 | updated_at         | u32  | unix seconds of the last learning update         |
 * |  60 |    4 | last_activation    | u32  | unix seconds                                     |
 */
export const CONNECTION_RECORD_SIZE = 64;

export const ConnectionOffset = {
  source: 0,
  target: 4,
  type: 8,
  activeSpaces: 9,
  flags: 10,
  mutability: 12,
  rigidity: 16,
  pullStrength: 20,
  preferredDistance: 24,
  confidence: 28,
  learningRate: 32,
  decayRate: 36,
  activationCount: 40,
  evidenceCount: 44,
  successCount: 48,
  createdAt: 52,
  updatedAt: 56,
  lastActivation: 60,
} as const;

export const CONNECTION_FLAGS = {
  ACTIVE: 0x0001,
  /** Traversal in direction "out" may also follow the connection from b to a. */
  BIDIRECTIONAL: 0x0002,
  /** Spreading activation carries negative energy over it. */
  INHIBITORY: 0x0004,
  REINFORCED: 0x0008,
  DECAYING: 0x0010,
  MODIFIED: 0x0020,
  PERSISTENT: 0x0040,
} as const;

export const Mutability = { Immutable: 0, Learnable: 1, Hypothesis: 2 } as const;
export type Mutability = (typeof Mutability)[keyof typeof Mutability];

/** The 11 categories: upper nibble of the type byte. */
export const ConnectionCategory = {
  Semantic: 0x00,
  Causal: 0x10,
  Temporal: 0x20,
  Spatial: 0x30,
  Logical: 0x40,
  Associative: 0x50,
  Structural: 0x60,
  Functional: 0x70,
  Emotional: 0x80,
  Rule: 0x90,
  Dynamic: 0xa0,
} as const;
