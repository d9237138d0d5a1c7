/** A small parser of the Prometheus text format (0.0.4), for tests. */

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Exposition {
  readonly types: ReadonlyMap<string, string>;
  readonly help: ReadonlyMap<string, string>;
  readonly samples: readonly Sample[];
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

function parseNumber(text: string): number {
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  if (text.toLowerCase() === "nan") return Number.NaN;
  const v = Number(text);
  if (Number.isNaN(v)) throw new Error(`not a number: ${text}`);
  return v;
}

export function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  const samples: Sample[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "") continue;
    if (line.startsWith("# TYPE ")) {
      const [, , name, type] = line.split(" ");
      if (name !== undefined && type !== undefined) types.set(name, type);
      continue;
    }
    if (line.startsWith("# HELP ")) {
      const rest = line.slice(7);
      const i = rest.indexOf(" ");
      help.set(rest.slice(0, i), rest.slice(i + 1));
      continue;
    }
    if (line.startsWith("#")) continue;
    const m = LINE.exec(line);
    if (m === null) throw new Error(`unparseable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(LABEL)) labels[l[1] ?? ""] = (l[2] ?? "").replace(/\\n/g, "\n").replace(/\\"/g, '"').replace(/\\\\/g, "\\");
    samples.push({ name: m[1] ?? "", labels, value: parseNumber(m[3] ?? "") });
  }
  return { types, help, samples };
}

/** The value of the one sample named `name` whose labels include `labels`; undefined if none. */
export function valueOf(e: Exposition, name: string, labels: Record<string, string> = {}): number | undefined {
  const found = e.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return found[0]?.value;
}

/** Every `neurograph_*` family a node must expose (DESIGN §7), with its type. */
export const EXPECTED_FAMILIES: Readonly<Record<string, "counter" | "gauge" | "histogram">> = {
  neurograph_build_info: "gauge",
  neurograph_tokens: "gauge",
  neurograph_connections: "gauge",
  neurograph_fields: "gauge",
  neurograph_hierarchy_depth: "gauge",
  neurograph_wal_appends_total: "counter",
  neurograph_wal_bytes_total: "counter",
  neurograph_wal_commit_duration_seconds: "histogram",
  neurograph_wal_batch_records: "histogram",
  neurograph_wal_replay_records_total: "counter",
  neurograph_wal_replay_duration_seconds: "histogram",
  neurograph_wal_pending_bytes: "gauge",
  neurograph_wal_errors_total: "counter",
  neurograph_wal_edge_repairs_total: "counter",
  neurograph_guardian_validations_total: "counter",
  neurograph_guardian_rejections_total: "counter",
  neurograph_quota_usage_ratio: "gauge",
  neurograph_quota_exceeded_total: "counter",
  neurograph_field_step_duration_seconds: "histogram",
  neurograph_actors: "gauge",
  neurograph_actor_mailbox_depth: "gauge",
  neurograph_actor_mailbox_depth_max: "gauge",
  neurograph_actor_restarts_total: "counter",
  neurograph_actor_messages_total: "counter",
  neurograph_actor_overload_rejections_total: "counter",
  neurograph_grpc_server_handled_total: "counter",
  neurograph_grpc_server_handling_seconds: "histogram",
  neurograph_nats_messages_total: "counter",
  neurograph_nats_bytes_total: "counter",
  neurograph_sampling_decisions_total: "counter",
  neurograph_sampling_tail_evicted_traces_total: "counter",
  neurograph_metrics_collect_errors_total: "counter",
  // Process and event-loop metrics from prom-client's default collectors.
  nodejs_eventloop_lag_seconds: "gauge",
  nodejs_eventloop_lag_p99_seconds: "gauge",
  process_cpu_seconds_total: "counter",
  process_resident_memory_bytes: "gauge",
  nodejs_heap_size_used_bytes: "gauge",
  nodejs_gc_duration_seconds: "histogram",
};
