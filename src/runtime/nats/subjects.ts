/**
 * NATS subjects of a NeuroGraph cluster: `ng.<cluster>.<area>.…`. An actor address `kind/key`
 * becomes `ng.<cluster>.actor.<kind>.<key>`. The address syntax (`address.ts`) only admits
 * characters that are valid in a subject token and never `.`, `*`, `>` or whitespace, so the
 * mapping is 1:1 without escaping; it is checked again here because envelopes can be built by
 * code that never went through `actorAddress`.
 */
import { ValidationError } from "../../core/errors.ts";
import { isValidKey, isValidKind, parseAddress } from "../address.ts";

export const SUBJECT_ROOT = "ng";
export const DEFAULT_CLUSTER = "neurograph";

const CLUSTER_RE = /^[A-Za-z0-9_-]{1,64}$/;
const NODE_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;

export function isValidClusterName(name: string): boolean {
  return CLUSTER_RE.test(name);
}

export function isValidNodeId(id: string): boolean {
  return NODE_ID_RE.test(id);
}

/** Throws a `ValidationError` naming `field` when `name` cannot be a cluster name. */
export function validateClusterName(name: string, field = "cluster"): string {
  if (!CLUSTER_RE.test(name)) {
    throw ValidationError.of("cluster name", [
      {
        field,
        value: name,
        rule: "cluster_name",
        description: `cluster name "${name}" must be 1-64 characters of A-Z, a-z, 0-9, '-', '_' (it is a NATS subject token)`,
      },
    ]);
  }
  return name;
}

/** Throws a `ValidationError` naming `field` when `id` cannot be a node id. */
export function validateNodeId(id: string, field = "nodeId"): string {
  if (!NODE_ID_RE.test(id)) {
    throw ValidationError.of("node id", [
      {
        field,
        value: id,
        rule: "node_id",
        description: `node id "${id}" must be 1-64 characters of A-Z, a-z, 0-9, '-', '_' (it names NATS subjects and KV keys)`,
      },
    ]);
  }
  return id;
}

/** Subjects of one cluster. */
export class ClusterSubjects {
  /** `ng.<cluster>` */
  readonly root: string;
  /** `ng.<cluster>.actor.` (prefix of every actor subject). */
  readonly actorPrefix: string;

  constructor(readonly cluster: string = DEFAULT_CLUSTER) {
    validateClusterName(cluster);
    this.root = `${SUBJECT_ROOT}.${cluster}`;
    this.actorPrefix = `${this.root}.actor.`;
  }

  /** `ng.<cluster>.actor.<kind>.<key>` for the address `kind/key`. */
  actor(path: string): string {
    const slash = path.indexOf("/");
    const kind = slash === -1 ? "" : path.slice(0, slash);
    const key = slash === -1 ? "" : path.slice(slash + 1);
    if (!isValidKind(kind) || !isValidKey(key)) parseAddress(path); // throws the precise ValidationError
    return `${this.actorPrefix}${kind}.${key}`;
  }

  /** The address `kind/key` of an actor subject, or undefined when `subject` is not one. */
  addressOf(subject: string): string | undefined {
    if (!subject.startsWith(this.actorPrefix)) return undefined;
    const rest = subject.slice(this.actorPrefix.length);
    const dot = rest.indexOf(".");
    if (dot === -1) return undefined;
    const kind = rest.slice(0, dot);
    const key = rest.slice(dot + 1);
    return isValidKind(kind) && isValidKey(key) ? `${kind}/${key}` : undefined;
  }

  /** Wildcard of every actor subject of the cluster (for monitoring). */
  get allActors(): string {
    return `${this.root}.actor.>`;
  }

  /** Producer ingest subjects (DESIGN §6). */
  ingest(what: "tokens" | "connections"): string {
    return `${this.root}.ingest.${what}`;
  }

  /** `ng.<cluster>.events.<type>`. */
  events(type: string): string {
    if (!/^[a-z][a-z0-9_-]{0,63}$/.test(type)) {
      throw ValidationError.of("event type", [
        { field: "type", value: type, rule: "event_type", description: "event types are 1-64 characters of a-z, 0-9, '-', '_', starting with a letter" },
      ]);
    }
    return `${this.root}.events.${type}`;
  }
}
