/**
 * Public surface of the NATS transport (DESIGN §4, §5 cluster, §6). Kept apart from
 * `runtime/index.ts` so a single embedded node never loads the NATS client.
 */
export {
  NatsTransport,
  type NatsConnectionState,
  type NatsMetricsSink,
  type NatsTransportOptions,
  type NatsTransportStats,
} from "./nats-transport.ts";
export {
  connectError,
  connectNats,
  logStatus,
  natsClientOptions,
  silentNatsLogger,
  watchStatus,
  type NatsConnectionOptions,
  type NatsLogger,
  type NatsReconnectOptions,
  type NatsStatusEvent,
  type NatsTlsOptions,
} from "./connection.ts";
export {
  ClusterSubjects,
  DEFAULT_CLUSTER,
  SUBJECT_ROOT,
  isValidClusterName,
  isValidNodeId,
  validateClusterName,
  validateNodeId,
} from "./subjects.ts";
export { ActorEnvelopeKind, decodeAck, decodeReply, decodeRequest, encodeAck, encodeReply, encodeRequest, readHeaders, requestHeaders } from "./wire.ts";
export { defaultNodeId, natsConfigSchema, natsSettings, type NatsConfig, type NatsSettings } from "../nats-config.ts";
