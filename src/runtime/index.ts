/** Public surface of the actor runtime (DESIGN §4). */
export { actorAddress, formatAddress, isValidKey, isValidKind, parseAddress, sameAddress, type ActorAddress } from "./address.ts";
export {
  Actor,
  REPLY_DEFERRED,
  type ActorContext,
  type ActorFactory,
  type Outcome,
  type ReplyDeferred,
  type ReplyHandle,
  type SpawnOptions,
} from "./actor.ts";
export { ManualClock, systemClock, type Clock, type TimerHandle } from "./clock.ts";
export { Mailbox, RingBuffer } from "./mailbox.ts";
export { EMPTY_HEADERS, HeaderName, type Ask, type Headers, type Message, type ReplyFor, type ReplyOf } from "./message.ts";
export {
  combineObservers,
  noopObserver,
  type ActorSystemObserver,
  type Directive,
  type ReceiveEvent,
  type StopReason,
} from "./observer.ts";
export { ask, tell, type ActorRef, type ActorRefBase, type AskOptions, type TellOptions } from "./ref.ts";
export {
  DEFAULT_SUPERVISION,
  backoffDelay,
  defaultDecider,
  type BackoffOptions,
  type SupervisionOptions,
} from "./supervision.ts";
export {
  ActorSystem,
  DEFAULT_ASK_TIMEOUT_MS,
  DEFAULT_MAILBOX_CAPACITY,
  type ActorSystemOptions,
  type MailboxStats,
  type ShutdownOptions,
  type ShutdownReport,
} from "./system.ts";
export type { TimerScheduler } from "./timers.ts";
export {
  CodecRegistry,
  WireHeader,
  errorFromWire,
  errorToWire,
  fromWireHeaders,
  jsonCodec,
  wireHeaders,
  type Envelope,
  type InboundEndpoint,
  type MessageCodec,
  type ReplyEnvelope,
  type Transport,
  type WireError,
} from "./transport.ts";
export { LocalTransport, LocalTransportHub } from "./local-transport.ts";
export {
  DEFAULT_SHARD_COUNT,
  MAX_SHARD_COUNT,
  SHARD_KIND,
  groupByShard,
  nonEmptyShards,
  shardAddress,
  shardAddresses,
  shardOf,
  shardOfAddress,
  shardSlice,
  validateShardCount,
  type ShardGroups,
} from "./placement.ts";
export {
  Node,
  actorSystemComponent,
  type Component,
  type NodeOptions,
  type NodeState,
  type ShutdownResult,
  type SignalOptions,
  type StopContext,
} from "./node.ts";
export {
  CONFIG_ENV,
  CONFIG_FLAG,
  describeOptions,
  loadConfig,
  option,
  type ConfigOf,
  type ConfigSchema,
  type ConfigSource,
  type LoadOptions,
  type LoadedConfig,
  type OptionInit,
  type OptionSpec,
} from "./config.ts";
export {
  ConfigValueError,
  boolean,
  byteSize,
  duration,
  hostPort,
  integer,
  list,
  oneOf,
  optional,
  path,
  string,
  url,
  type HostPort,
  type ParseContext,
  type ValueParser,
} from "./config-parsers.ts";
export { LOG_LEVELS, nodeConfigSchema, type NodeConfig } from "./node-config.ts";
// NATS configuration and subjects only; the transport itself is in `./nats/index.ts`.
export { defaultNodeId, natsConfigSchema, natsSettings, type NatsConfig, type NatsSettings } from "./nats-config.ts";
export { ClusterSubjects, DEFAULT_CLUSTER, validateClusterName, validateNodeId } from "./nats/subjects.ts";
