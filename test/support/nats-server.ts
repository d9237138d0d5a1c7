/**
 * Real `nats-server` processes for integration tests and benchmarks: a single server (JetStream
 * on by default, in a temporary store directory), a cluster of servers routed on loopback, and
 * variants with user/password, token, nkey or TLS. Every server listens on 127.0.0.1 on free
 * ports, is ready when its monitoring `/healthz` says so (clusters: all routes up and a JetStream
 * meta leader elected), can be stopped (SIGTERM), killed (SIGKILL, for failover tests) and
 * restarted on the same ports and store. Processes still running when the test process exits
 * are killed; `dispose()` also removes the temporary directory.
 *
 *   const server = await startNatsServer();              // server.url = nats://127.0.0.1:<port>
 *   const cluster = await startNatsCluster({ size: 3 }); // cluster.url = "nats://…,nats://…,…"
 *   await server.kill(); await server.restart();
 *   await cluster.dispose();
 *
 * The binary: `NATS_SERVER_BIN`, else `nats-server` on PATH (or /usr/sbin, /usr/local/bin).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";

export type NatsServerAuth =
  | { readonly user: string; readonly password: string }
  | { readonly token: string }
  /** Public user nkeys (`U…`) allowed to connect. */
  | { readonly nkeys: readonly string[] };

export interface NatsServerTls {
  readonly certFile: string;
  readonly keyFile: string;
  /** CA to verify client certificates with; `verify` requires them (mutual TLS). */
  readonly caFile?: string;
  readonly verify?: boolean;
}

export interface NatsServerOptions {
  /** Default true. */
  readonly jetstream?: boolean;
  readonly auth?: NatsServerAuth;
  readonly tls?: NatsServerTls;
  /** Server name (default `ng-test-<n>`); JetStream clusters need distinct names. */
  readonly name?: string;
  /** Largest message the server accepts (default 1 MiB, the NATS default). */
  readonly maxPayload?: number;
  /** JetStream limits (defaults 256 MiB memory, 4 GiB file). */
  readonly jetstreamMaxMemory?: string;
  readonly jetstreamMaxFile?: string;
  /** Extra lines appended to the generated configuration. */
  readonly extraConfig?: string;
  /** Copy the server's log lines to stderr (or set NG_TEST_NATS_LOG=1). */
  readonly echoLog?: boolean;
  /** How long to wait for readiness (default 20 s). */
  readonly readyTimeoutMs?: number;
}

export interface NatsServer {
  readonly name: string;
  /** `nats://127.0.0.1:<port>` (`tls://` with TLS). */
  readonly url: string;
  readonly port: number;
  readonly monitorPort: number;
  /** Route port (cluster members only). */
  readonly clusterPort: number | undefined;
  /** Temporary directory: config file, JetStream store (`store/`). */
  readonly dir: string;
  readonly storeDir: string;
  readonly pid: number | undefined;
  readonly running: boolean;
  /** Graceful stop (SIGTERM; SIGKILL after 10 s). */
  stop(): Promise<void>;
  /** SIGKILL, as a crash. */
  kill(): Promise<void>;
  /** Starts again on the same ports, configuration and store; waits until ready. */
  restart(): Promise<void>;
  /** GET a monitoring endpoint as JSON, e.g. `varz`, `connz`, `subsz?subs=1`, `routez`, `jsz`. */
  monitor<T = Record<string, unknown>>(endpoint: string): Promise<T>;
  /** Recent log lines (for failure messages). */
  log(): string;
  /** Kills the server (if running) and removes its directory. */
  dispose(): Promise<void>;
}

export interface NatsCluster {
  readonly name: string;
  readonly servers: readonly NatsServer[];
  /** Client URLs, one per server. */
  readonly urls: readonly string[];
  /** Comma-separated client URLs (the `--nats` form). */
  readonly url: string;
  /** Waits until every running server is healthy, routed to the other running ones, and (with JetStream) has a meta leader. */
  waitReady(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
  dispose(): Promise<void>;
}

// ---- binary, ports, cleanup -------------------------------------------------------------------

let binary: string | undefined;

/** Path of the nats-server binary; throws with install instructions when there is none. */
export function natsServerBinary(): string {
  if (binary !== undefined) return binary;
  const candidates = [
    process.env.NATS_SERVER_BIN,
    ...(process.env.PATH ?? "").split(delimiter).map((d) => (d === "" ? undefined : join(d, "nats-server"))),
    "/usr/sbin/nats-server",
    "/usr/local/bin/nats-server",
  ];
  for (const c of candidates) {
    if (c === undefined) continue;
    try {
      accessSync(c, constants.X_OK);
      binary = c;
      return c;
    } catch {
      // next
    }
  }
  throw new Error("nats-server not found: install it (apt-get install nats-server, or a release from github.com/nats-io/nats-server) or set NATS_SERVER_BIN");
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      const port = typeof a === "object" && a !== null ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function track(child: ChildProcess): void {
  live.add(child);
  child.once("exit", () => live.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once("exit", () => {
      for (const c of live) c.kill("SIGKILL");
    });
  }
}

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
let serial = 0;

// ---- configuration ----------------------------------------------------------------------------

interface Layout {
  readonly name: string;
  readonly dir: string;
  readonly port: number;
  readonly monitorPort: number;
  readonly cluster: { readonly name: string; readonly port: number; readonly routes: readonly number[] } | undefined;
}

const q = (s: string): string => JSON.stringify(s);

function configText(layout: Layout, o: NatsServerOptions): string {
  const lines = [
    `server_name: ${q(layout.name)}`,
    `listen: "127.0.0.1:${layout.port}"`,
    `http: "127.0.0.1:${layout.monitorPort}"`,
    `max_payload: ${o.maxPayload ?? 1024 * 1024}`,
  ];
  if (o.jetstream !== false) {
    lines.push(`jetstream { store_dir: ${q(join(layout.dir, "store"))}, max_memory_store: ${o.jetstreamMaxMemory ?? "256MB"}, max_file_store: ${o.jetstreamMaxFile ?? "4GB"} }`);
  }
  const auth = o.auth;
  if (auth !== undefined) {
    if ("token" in auth) lines.push(`authorization { token: ${q(auth.token)} }`);
    else if ("nkeys" in auth) lines.push(`authorization { users: [ ${auth.nkeys.map((k) => `{ nkey: ${q(k)} }`).join(", ")} ] }`);
    else lines.push(`authorization { user: ${q(auth.user)}, password: ${q(auth.password)} }`);
  }
  if (o.tls !== undefined) {
    const t = o.tls;
    lines.push(`tls { cert_file: ${q(t.certFile)}, key_file: ${q(t.keyFile)}${t.caFile === undefined ? "" : `, ca_file: ${q(t.caFile)}`}, verify: ${t.verify === true}, timeout: 5 }`);
  }
  if (layout.cluster !== undefined) {
    const c = layout.cluster;
    lines.push(
      `cluster { name: ${q(c.name)}, listen: "127.0.0.1:${c.port}", routes: [ ${c.routes.map((p) => q(`nats-route://127.0.0.1:${p}`)).join(", ")} ] }`,
    );
  }
  if (o.extraConfig !== undefined) lines.push(o.extraConfig);
  return `${lines.join("\n")}\n`;
}

// ---- one server -------------------------------------------------------------------------------

class ServerProcess implements NatsServer {
  private child: ChildProcess | undefined;
  private readonly lines: string[] = [];
  private readonly echo: boolean;

  constructor(
    private readonly layout: Layout,
    private readonly options: NatsServerOptions,
  ) {
    this.echo = options.echoLog === true || process.env.NG_TEST_NATS_LOG === "1";
    writeFileSync(join(layout.dir, "server.conf"), configText(layout, options));
  }

  get name(): string {
    return this.layout.name;
  }
  get url(): string {
    return `${this.options.tls === undefined ? "nats" : "tls"}://127.0.0.1:${this.layout.port}`;
  }
  get port(): number {
    return this.layout.port;
  }
  get monitorPort(): number {
    return this.layout.monitorPort;
  }
  get clusterPort(): number | undefined {
    return this.layout.cluster?.port;
  }
  get dir(): string {
    return this.layout.dir;
  }
  get storeDir(): string {
    return join(this.layout.dir, "store");
  }
  get pid(): number | undefined {
    return this.child?.pid;
  }
  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Spawns the process; resolves once /healthz answers ok, rejects if it exits first. */
  async start(): Promise<void> {
    if (this.running) throw new Error(`nats-server ${this.name} is already running`);
    const child = spawn(natsServerBinary(), ["-c", join(this.layout.dir, "server.conf")], { stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    track(child);
    const onData = (d: Buffer): void => {
      for (const line of d.toString().split("\n")) {
        if (line === "") continue;
        this.lines.push(line);
        if (this.lines.length > 300) this.lines.shift();
        if (this.echo) process.stderr.write(`[${this.name}] ${line}\n`);
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    await this.waitHealthy(this.options.readyTimeoutMs ?? 20_000);
  }

  async waitHealthy(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = "";
    for (;;) {
      if (!this.running) throw new Error(`nats-server ${this.name} exited while starting:\n${this.log()}`);
      try {
        const res = await fetch(`http://127.0.0.1:${this.monitorPort}/healthz`);
        if (res.ok) return;
        last = `${res.status} ${await res.text()}`;
      } catch (err) {
        last = err instanceof Error ? err.message : String(err);
      }
      if (Date.now() > deadline) throw new Error(`nats-server ${this.name} not healthy after ${timeoutMs} ms (${last}):\n${this.log()}`);
      await delay(50);
    }
  }

  stop(): Promise<void> {
    return this.signal("SIGTERM");
  }

  kill(): Promise<void> {
    return this.signal("SIGKILL");
  }

  private signal(sig: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (child === undefined || !this.running) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      child.once("exit", () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill(sig);
    });
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async monitor<T = Record<string, unknown>>(endpoint: string): Promise<T> {
    const res = await fetch(`http://127.0.0.1:${this.monitorPort}/${endpoint.replace(/^\//, "")}`);
    if (!res.ok) throw new Error(`GET /${endpoint} on nats-server ${this.name}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }

  log(): string {
    return this.lines.join("\n");
  }

  async dispose(): Promise<void> {
    await this.kill();
    rmSync(this.layout.dir, { recursive: true, force: true });
  }
}

function isPortClash(err: unknown): boolean {
  return err instanceof Error && /address already in use|bind: /i.test(err.message);
}

/** Starts one server on free ports and waits until it is healthy. Retries on a port clash. */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  for (let attempt = 1; ; attempt++) {
    const dir = mkdtempSync(join(tmpdir(), "ng-nats-"));
    const layout: Layout = { name: options.name ?? `ng-test-${++serial}`, dir, port: await freePort(), monitorPort: await freePort(), cluster: undefined };
    const server = new ServerProcess(layout, options);
    try {
      await server.start();
      return server;
    } catch (err) {
      await server.dispose();
      if (attempt >= 3 || !isPortClash(err)) throw err;
    }
  }
}

export interface NatsClusterOptions extends Omit<NatsServerOptions, "name"> {
  /** Number of servers (default 3). */
  readonly size?: number;
  /** Cluster name (default `ng-test-cluster-<n>`); servers are `<name>-1`, `<name>-2`, … */
  readonly name?: string;
}

/** Starts `size` servers routed to each other on loopback; resolves when the cluster is formed. */
export async function startNatsCluster(options: NatsClusterOptions = {}): Promise<NatsCluster> {
  const size = options.size ?? 3;
  for (let attempt = 1; ; attempt++) {
    const name = options.name ?? `ng-test-cluster-${++serial}`;
    const root = mkdtempSync(join(tmpdir(), "ng-nats-cluster-"));
    const ports = await Promise.all(Array.from({ length: size }, async () => ({ port: await freePort(), monitor: await freePort(), route: await freePort() })));
    const servers = ports.map((p, i) => {
      const layout: Layout = {
        name: `${name}-${i + 1}`,
        dir: mkdtempSync(join(root, `s${i + 1}-`)),
        port: p.port,
        monitorPort: p.monitor,
        cluster: { name, port: p.route, routes: ports.filter((_, j) => j !== i).map((o) => o.route) },
      };
      return new ServerProcess(layout, { ...options, name: layout.name });
    });
    const cluster = new Cluster(name, root, servers, options.jetstream !== false);
    try {
      await Promise.all(servers.map((s) => s.start()));
      await cluster.waitReady(options.readyTimeoutMs ?? 30_000);
      return cluster;
    } catch (err) {
      await cluster.dispose();
      if (attempt >= 3 || !isPortClash(err)) throw err;
    }
  }
}

class Cluster implements NatsCluster {
  constructor(
    readonly name: string,
    private readonly root: string,
    readonly servers: readonly ServerProcess[],
    private readonly jetstream: boolean,
  ) {}

  get urls(): readonly string[] {
    return this.servers.map((s) => s.url);
  }

  get url(): string {
    return this.urls.join(",");
  }

  async waitReady(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const running = this.servers.filter((s) => s.running);
    let last = "";
    for (;;) {
      try {
        const states = await Promise.all(
          running.map(async (s) => {
            const routez = await s.monitor<{ num_routes?: number }>("routez");
            const jsz = this.jetstream ? await s.monitor<{ meta_cluster?: { leader?: string; cluster_size?: number } }>("jsz") : undefined;
            const health = await fetch(`http://127.0.0.1:${s.monitorPort}/healthz`);
            const meta = jsz?.meta_cluster;
            return { name: s.name, routes: routez.num_routes ?? 0, leader: meta?.leader ?? "", peers: meta?.cluster_size ?? 0, healthy: health.ok };
          }),
        );
        const names = new Set(this.servers.map((s) => s.name));
        const bad = states.filter(
          (st) => st.routes < running.length - 1 || !st.healthy || (this.jetstream && (!names.has(st.leader) || st.peers < this.servers.length)),
        );
        if (bad.length === 0) return;
        last = JSON.stringify(bad);
      } catch (err) {
        last = err instanceof Error ? err.message : String(err);
      }
      if (Date.now() > deadline) {
        throw new Error(`NATS cluster ${this.name} not ready after ${timeoutMs} ms: ${last}\n${running.map((s) => `--- ${s.name}\n${s.log()}`).join("\n")}`);
      }
      await delay(100);
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.stop()));
  }

  async dispose(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.kill()));
    rmSync(this.root, { recursive: true, force: true });
  }
}
