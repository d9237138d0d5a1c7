/**
 * `deploy/` checked without a Docker engine (none runs here): the compose files and Kubernetes
 * manifests parse and reference only images, ports, volumes, files and variables that exist; the
 * Dockerfile's entrypoint command, run locally from a compiled tree laid out as in the image,
 * serves and passes the image's own health check; the Grafana dashboard queries only metric names
 * that node's live /metrics exports.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { serveConfigSchema } from "../../src/node/index.ts";
import { natsConfigSchema } from "../../src/runtime/nats-config.ts";
import { CONFIG_ENV } from "../../src/runtime/config.ts";
import { natsServerBinary } from "../support/nats-server.ts";
import { NeuroGraphClient } from "../../src/client/index.ts";
import { freePort } from "./cli-helpers.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const DEPLOY = join(ROOT, "deploy");

/** Every NG_* variable a node reads (serve, and the NATS/cluster options of the runtime). */
const NG_VARS = new Set([CONFIG_ENV, ...Object.values(serveConfigSchema).map((o) => o.env), ...Object.values(natsConfigSchema).map((o) => o.env)]);
/** The OTEL_* variables the telemetry layer reads (src/telemetry/tracing.ts) and the SDK honours. */
const OTEL_VARS = new Set(["OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_TRACES_EXPORTER", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG", "OTEL_SDK_DISABLED"]);
const PINNED_IMAGE = /^[a-z0-9./-]+:v?[0-9][\w.-]*$/;

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Obj) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);


function envOf(service: Obj): Record<string, string> {
  const env = service["environment"];
  if (Array.isArray(env)) return Object.fromEntries(env.map((e) => String(e).split("=", 2) as [string, string]));
  return Object.fromEntries(Object.entries(obj(env)).map(([k, v]) => [k, String(v)]));
}

function checkVariables(where: string, env: Record<string, string>): void {
  for (const name of Object.keys(env)) {
    if (name.startsWith("NG_")) expect(NG_VARS.has(name), `${where}: ${name} is no NeuroGraph option`).toBe(true);
    else if (name.startsWith("OTEL_")) expect(OTEL_VARS.has(name), `${where}: ${name} is not read`).toBe(true);
  }
}

const portOf = (hostPort: string): number => Number(hostPort.slice(hostPort.lastIndexOf(":") + 1));

/** `nats-server -t`: the server itself parses the configuration (with the variable it names set). */
function checkNatsConfig(file: string, env: Record<string, string>): void {
  const r = spawnSync(natsServerBinary(), ["-t", "-c", file], { encoding: "utf8", env: { PATH: process.env["PATH"] ?? "", ...env } });
  expect(r.status, r.stderr).toBe(0);
  expect(r.stderr).toContain("is valid");
}

/** The compose file, with its services' environment, ports and volumes checked. */
function checkCompose(file: string): Obj {
  const compose = obj(parse(readFileSync(join(DEPLOY, file), "utf8"), { merge: true }));
  const services = obj(compose["services"]);
  const volumes = new Set(Object.keys(obj(compose["volumes"])));
  expect(Object.keys(services).length).toBeGreaterThan(0);
  for (const [name, raw] of Object.entries(services)) {
    const s = obj(raw);
    const image = String(s["image"]);
    if (image === "neurograph:local") {
      const build = obj(s["build"]);
      expect(existsSync(join(DEPLOY, String(build["context"]), String(build["dockerfile"]))), `${file} ${name}: build file`).toBe(true);
      const env = envOf(s);
      // The node listens on the container ports the file publishes.
      const published = arr(s["ports"]).map((p) => Number(String(p).split(":").at(-1)));
      expect(published).toEqual(expect.arrayContaining([portOf(env["NG_GRPC_ADDR"]!), portOf(env["NG_METRICS_ADDR"]!)]));
      for (const v of arr(s["volumes"])) expect(String(v).split(":")[1], `${file} ${name}: data volume`).toBe(env["NG_DATA_DIR"]);
    } else {
      expect(image, `${file} ${name}: pinned image`).toMatch(PINNED_IMAGE);
    }
    checkVariables(`${file} ${name}`, envOf(s));
    for (const v of arr(s["volumes"])) {
      const source = String(v).split(":")[0]!;
      if (source.startsWith(".")) expect(existsSync(resolve(DEPLOY, source)), `${file} ${name}: ${source} exists`).toBe(true);
      else expect(volumes.has(source), `${file} ${name}: volume ${source} is declared`).toBe(true);
    }
    const deps = s["depends_on"];
    for (const dep of Array.isArray(deps) ? deps : Object.keys(obj(deps))) expect(Object.keys(services), `${file} ${name}: depends on ${String(dep)}`).toContain(String(dep));
  }
  return services;
}

describe("deploy/ files", () => {
  it("compose.yaml: 3 NATS servers with JetStream, 3 nodes, Prometheus, Grafana, Jaeger, all consistent", () => {
    const services = checkCompose("compose.yaml");
    const names = Object.keys(services);
    expect(names.filter((n) => n.startsWith("nats-"))).toHaveLength(3);
    expect(names.filter((n) => n.startsWith("neurograph-"))).toHaveLength(3);
    expect(names).toEqual(expect.arrayContaining(["prometheus", "grafana", "jaeger"]));
    const nodeEnv = envOf(obj(services["neurograph-1"]));
    // The nodes reach every NATS server by its service name on the port its config listens on.
    const natsConf = readFileSync(join(DEPLOY, "nats/nats.conf"), "utf8");
    expect(natsConf).toMatch(/jetstream\s*\{/);
    const clientPort = Number(/^listen:\s*[\d.]+:(\d+)/m.exec(natsConf)?.[1]);
    for (const url of nodeEnv["NG_NATS_URL"]!.split(",")) {
      const u = new URL(url);
      expect(names).toContain(u.hostname);
      expect(Number(u.port)).toBe(clientPort);
    }
    for (const route of natsConf.match(/nats-route:\/\/[\w-]+:\d+/g) ?? []) expect(names).toContain(new URL(route).hostname);
    const serverName = /^server_name:\s*\$(\w+)/m.exec(natsConf)?.[1];
    for (const n of names.filter((x) => x.startsWith("nats-"))) expect(Object.keys(envOf(obj(services[n]))), n).toContain(serverName);
    checkNatsConfig(join(DEPLOY, "nats/nats.conf"), { [serverName!]: "nats-1" });
    // The OTLP endpoint is Jaeger's OTLP/HTTP port, which the file publishes.
    const otlp = new URL(nodeEnv["OTEL_EXPORTER_OTLP_ENDPOINT"]!);
    expect(otlp.hostname).toBe("jaeger");
    expect(arr(obj(services["jaeger"])["ports"]).map((p) => String(p).split(":").at(-1))).toContain(otlp.port);
    // Every node takes producer ingest over NATS, JetStream included.
    for (const n of names.filter((x) => x.startsWith("neurograph-"))) expect(envOf(obj(services[n]))["NG_INGEST_JETSTREAM"], n).toBe("true");
    // Node ids differ.
    expect(new Set(names.filter((n) => n.startsWith("neurograph-")).map((n) => envOf(obj(services[n]))["NG_NODE_ID"])).size).toBe(3);
  });

  it("compose.single.yaml: one node and Prometheus", () => {
    const services = checkCompose("compose.single.yaml");
    expect(Object.keys(services).sort()).toEqual(["neurograph", "prometheus"]);
  });

  it("prometheus configs scrape the nodes' metrics ports by service name", () => {
    for (const [file, composeFile] of [["prometheus.yml", "compose.yaml"], ["prometheus.single.yml", "compose.single.yaml"]] as const) {
      const prom = obj(parse(readFileSync(join(DEPLOY, file), "utf8")));
      const services = obj(obj(parse(readFileSync(join(DEPLOY, composeFile), "utf8"), { merge: true }))["services"]);
      const job = arr(prom["scrape_configs"]).map(obj).find((j) => j["job_name"] === "neurograph");
      const targets = arr(job?.["static_configs"]).flatMap((c) => arr(obj(c)["targets"]).map(String));
      expect(targets.length).toBeGreaterThan(0);
      for (const t of targets) {
        const [host, port] = t.split(":");
        const env = envOf(obj(services[host!]));
        expect(Number(port), `${file}: ${t}`).toBe(portOf(env["NG_METRICS_ADDR"]!));
      }
      // Mounted where the compose file tells Prometheus to read it.
      expect(arr(obj(services["prometheus"])["volumes"]).map(String)).toContain(`./${file}:/etc/prometheus/prometheus.yml:ro`);
    }
    try {
      const out = execFileSync("promtool", ["check", "config", join(DEPLOY, "prometheus.yml")], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
      expect(out).toContain("SUCCESS");
    } catch (err) {
      // promtool is optional; a config it rejects is a failure.
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
  });

  it("Kubernetes manifests: StatefulSet with volumes, headless service, config, probes, limits, PDB", () => {
    const kustomization = obj(parse(readFileSync(join(DEPLOY, "k8s/kustomization.yaml"), "utf8")));
    const files = arr(kustomization["resources"]).map(String);
    expect(files.sort()).toEqual(readdirSync(join(DEPLOY, "k8s")).filter((f) => f !== "kustomization.yaml").sort());
    const all = files.flatMap((f) => parseAllDocuments(readFileSync(join(DEPLOY, "k8s", f), "utf8")).map((d) => obj(d.toJS())));
    const appOf = (d: Obj): unknown => obj(obj(d["metadata"])["labels"])["app.kubernetes.io/name"];
    const docs = all.filter((d) => appOf(d) === "neurograph");
    const byKind = (kind: string): Obj[] => docs.filter((d) => d["kind"] === kind);
    const sts = byKind("StatefulSet")[0]!;
    const spec = obj(sts["spec"]);
    const podSpec = obj(obj(spec["template"])["spec"]);
    const podLabels = obj(obj(obj(spec["template"])["metadata"])["labels"]);
    const container = obj(arr(podSpec["containers"])[0]);
    const headless = byKind("Service").find((s) => obj(s["spec"])["clusterIP"] === "None")!;
    expect(spec["serviceName"]).toBe(obj(headless["metadata"])["name"]);
    for (const s of [...byKind("Service"), ...byKind("PodDisruptionBudget")]) {
      const selector = obj(s["spec"])["selector"];
      const labels = obj(obj(selector)["matchLabels"] ?? selector);
      for (const [k, v] of Object.entries(labels)) expect(podLabels[k]).toBe(v);
    }
    expect(obj(obj(spec["selector"])["matchLabels"])).toEqual(podLabels);
    // Ports: services target named container ports; the config's addresses listen on them.
    const config = obj(byKind("ConfigMap")[0]!["data"]);
    const containerPorts = Object.fromEntries(arr(container["ports"]).map((p) => [String(obj(p)["name"]), Number(obj(p)["containerPort"])]));
    expect(containerPorts).toEqual({ grpc: portOf(String(config["NG_GRPC_ADDR"])), metrics: portOf(String(config["NG_METRICS_ADDR"])) });
    for (const s of byKind("Service")) for (const p of arr(obj(s["spec"])["ports"])) expect(Object.keys(containerPorts)).toContain(obj(p)["targetPort"]);
    for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) expect(obj(obj(container[probe])["grpc"])["port"], probe).toBe(containerPorts["grpc"]);
    // Variables: the ConfigMap and the container's env name only options the node reads.
    checkVariables("configmap", Object.fromEntries(Object.entries(config).map(([k, v]) => [k, String(v)])));
    checkVariables("statefulset", Object.fromEntries(arr(container["env"]).map((e) => [String(obj(e)["name"]), ""])));
    expect(arr(container["envFrom"]).map((e) => obj(obj(e)["configMapRef"])["name"])).toContain(obj(byKind("ConfigMap")[0]!["metadata"])["name"]);
    // Persistent data at NG_DATA_DIR from the volume claim template.
    const claims = arr(spec["volumeClaimTemplates"]).map((c) => obj(obj(c)["metadata"])["name"]);
    const mounts = arr(container["volumeMounts"]).map(obj);
    const dataMount = mounts.find((m) => m["mountPath"] === config["NG_DATA_DIR"]);
    expect(claims).toContain(dataMount?.["name"]);
    const podVolumes = arr(podSpec["volumes"]).map((v) => obj(v)["name"]);
    for (const m of mounts) expect([...claims, ...podVolumes]).toContain(m["name"]);
    expect(Object.keys(obj(obj(container["resources"])["limits"]))).toEqual(expect.arrayContaining(["cpu", "memory"]));
    expect(obj(podSpec["securityContext"])["runAsNonRoot"]).toBe(true);
    expect(byKind("PodDisruptionBudget")).toHaveLength(1);
    // Every resource belongs to the nodes or to their NATS cluster.
    expect(new Set(all.map(appOf))).toEqual(new Set(["neurograph", "nats"]));
  });

  it("Kubernetes manifests: a 3-server NATS JetStream cluster the nodes join and take ingest from", () => {
    const docs = parseAllDocuments(readFileSync(join(DEPLOY, "k8s/nats.yaml"), "utf8")).map((d) => obj(d.toJS()));
    const named = (kind: string, name: string): Obj => docs.find((d) => d["kind"] === kind && obj(d["metadata"])["name"] === name) ?? {};
    const sts = obj(named("StatefulSet", "nats")["spec"]);
    expect(sts["replicas"]).toBe(3);
    const podSpec = obj(obj(sts["template"])["spec"]);
    const podLabels = obj(obj(obj(sts["template"])["metadata"])["labels"]);
    const container = obj(arr(podSpec["containers"])[0]);
    expect(String(container["image"])).toMatch(PINNED_IMAGE);
    const ports = Object.fromEntries(arr(container["ports"]).map((p) => [String(obj(p)["name"]), Number(obj(p)["containerPort"])]));
    // The configuration file the server is started with is the ConfigMap's, mounted there.
    const args = arr(container["args"]).map(String);
    const confPath = args[args.indexOf("-c") + 1]!;
    const confMount = arr(container["volumeMounts"]).map(obj).find((m) => confPath.startsWith(`${String(m["mountPath"])}/`))!;
    const confVolume = arr(podSpec["volumes"]).map(obj).find((v) => v["name"] === confMount["name"])!;
    const configMap = obj(named("ConfigMap", String(obj(confVolume["configMap"])["name"]))["data"]);
    const conf = String(configMap[confPath.slice(String(confMount["mountPath"]).length + 1)]);
    expect(conf).toMatch(/jetstream\s*\{/);
    const confDir = mkdtempSync(join(tmpdir(), "ng-nats-conf-"));
    try {
      writeFileSync(join(confDir, "nats.conf"), conf);
      checkNatsConfig(join(confDir, "nats.conf"), { POD_NAME: "nats-0" });
    } finally {
      rmSync(confDir, { recursive: true, force: true });
    }
    expect(Number(/^\s*listen:\s*[\d.]+:(\d+)/m.exec(conf)?.[1])).toBe(ports["client"]);
    expect(Number(/^http:\s*[\d.]+:(\d+)/m.exec(conf.replace(/^ +/gm, ""))?.[1])).toBe(ports["monitor"]);
    // Distinct server names from the pod name, which the container's env provides.
    const nameVar = /^\s*server_name:\s*\$(\w+)/m.exec(conf)?.[1];
    expect(arr(container["env"]).map((e) => obj(e)["name"])).toContain(nameVar);
    // JetStream's store is on the claim.
    const store = /store_dir:\s*(\S+)/.exec(conf)?.[1] ?? "";
    const storeMount = arr(container["volumeMounts"]).map(obj).find((m) => store.startsWith(String(m["mountPath"])));
    expect(arr(sts["volumeClaimTemplates"]).map((c) => obj(obj(c)["metadata"])["name"])).toContain(storeMount?.["name"]);
    // Routes: one per replica, by the headless service's stable names, on the cluster port.
    const routes = [...conf.matchAll(/nats-route:\/\/([\w.-]+):(\d+)/g)];
    expect(routes.map((r) => r[1])).toEqual([0, 1, 2].map((i) => `nats-${i}.${String(sts["serviceName"])}`));
    for (const r of routes) expect(Number(r[2])).toBe(ports["cluster"]);
    expect(obj(named("Service", String(sts["serviceName"]))["spec"])["clusterIP"]).toBe("None");
    for (const svc of docs.filter((d) => d["kind"] === "Service" || d["kind"] === "PodDisruptionBudget")) {
      const selector = obj(obj(svc["spec"])["selector"]);
      for (const [k, v] of Object.entries(obj(selector["matchLabels"] ?? selector))) expect(podLabels[k]).toBe(v);
      for (const p of arr(obj(svc["spec"])["ports"])) expect(Object.keys(ports)).toContain(obj(p)["targetPort"]);
    }
    // The nodes connect to the client service on its port and take NATS ingest (JetStream on).
    const nodeConfig = obj(obj(parse(readFileSync(join(DEPLOY, "k8s/configmap.yaml"), "utf8")))["data"]);
    const url = new URL(String(nodeConfig["NG_NATS_URL"]));
    const client = obj(named("Service", url.hostname)["spec"]);
    const clientPort = arr(client["ports"]).map(obj).find((p) => Number(p["port"]) === Number(url.port));
    expect(clientPort?.["targetPort"]).toBe("client");
    expect(nodeConfig["NG_INGEST_JETSTREAM"]).toBe("true");
  });
});

describe("the image's entrypoint, run locally from a compiled tree", () => {
  const dir = mkdtempSync(join(tmpdir(), "ng-deploy-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Dockerfile instructions of the final stage. */
  function runtimeStage(): { env: Record<string, string>; entrypoint: string[]; cmd: string[]; healthcheck: string[]; user: string; expose: number[]; workdir: string } {
    const text = readFileSync(join(DEPLOY, "Dockerfile"), "utf8").replace(/\\\n\s*/g, " ");
    const stage = text.slice(text.lastIndexOf("\nFROM "));
    const json = (re: RegExp): string[] => JSON.parse(re.exec(stage)?.[1] ?? "[]") as string[];
    const env: Record<string, string> = {};
    for (const m of stage.matchAll(/^ENV (.+)$/gm)) for (const kv of m[1]!.trim().split(/\s+/)) env[kv.split("=")[0]!] = kv.slice(kv.indexOf("=") + 1);
    return {
      env,
      entrypoint: json(/^ENTRYPOINT (\[.*\])$/m),
      cmd: json(/^CMD (\[.*\])$/m),
      healthcheck: json(/^HEALTHCHECK .*? CMD (\[.*\])$/m),
      user: /^USER (\S+)$/m.exec(stage)?.[1] ?? "root",
      expose: (/^EXPOSE (.+)$/m.exec(stage)?.[1] ?? "").trim().split(/\s+/).map(Number),
      workdir: /^WORKDIR (\S+)$/m.exec(stage)?.[1] ?? "/",
    };
  }

  it("serves, passes the health check, and the dashboard queries only exported metrics", async () => {
    const image = runtimeStage();
    expect(image.user).not.toBe("root");
    expect(image.expose.sort()).toEqual([portOf(image.env["NG_GRPC_ADDR"]!), portOf(image.env["NG_METRICS_ADDR"]!)].sort());
    checkVariables("Dockerfile", image.env);
    // Every COPY source of the build context exists.
    for (const m of readFileSync(join(DEPLOY, "Dockerfile"), "utf8").matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
      for (const src of m[1]!.trim().split(/\s+/)) expect(existsSync(join(ROOT, src)), `COPY ${src}`).toBe(true);
    }

    // The image's /app: package.json, proto, bin and dist (compiled here as the build stage does).
    const app = join(dir, "app");
    mkdirSync(app);
    execFileSync(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", join(ROOT, "tsconfig.build.json"), "--outDir", join(app, "dist"), "--declaration", "false", "--sourceMap", "false"], { stdio: "inherit" });
    execFileSync(process.execPath, [join(ROOT, "scripts/copy-build-assets.mjs"), join(app, "dist")], { stdio: "inherit" });
    cpSync(join(ROOT, "bin"), join(app, "bin"), { recursive: true });
    cpSync(join(ROOT, "proto"), join(app, "proto"), { recursive: true });
    cpSync(join(ROOT, "package.json"), join(app, "package.json"));
    symlinkSync(join(ROOT, "node_modules"), join(app, "node_modules"));
    expect(existsSync(join(app, "src"))).toBe(false);

    const grpcPort = await freePort();
    const metricsPort = await freePort();
    const env = {
      PATH: process.env["PATH"] ?? "",
      ...image.env,
      NG_GRPC_ADDR: `0.0.0.0:${grpcPort}`,
      NG_METRICS_ADDR: `0.0.0.0:${metricsPort}`,
      NG_DATA_DIR: join(dir, "data"),
      NG_SHARDS: "4",
    };
    const toLocal = (args: string[]): string[] => args.map((a) => a.replace(image.workdir, app).replace(":50051", `:${grpcPort}`));
    const [command, ...args] = toLocal([...image.entrypoint, ...image.cmd]);
    expect(command).toBe("node");
    const child = spawn(process.execPath, args, { env, stdio: ["ignore", "ignore", "pipe"], cwd: dirname(app) });
    let stderr = "";
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    try {
      await new Promise<void>((ok, fail) => {
        child.stderr.on("data", (d: Buffer) => {
          stderr += d.toString();
          if (stderr.includes("serving gRPC on")) ok();
        });
        void exited.then((code) => fail(new Error(`the entrypoint exited with ${code}: ${stderr}`)));
      });
      expect(stderr).toContain(`${grpcPort}`);
      // The image's HEALTHCHECK command.
      const [hcCommand, ...hcArgs] = toLocal(image.healthcheck);
      expect(hcCommand).toBe("node");
      const health = execFileSync(process.execPath, hcArgs, { env: { PATH: env.PATH }, encoding: "utf8" });
      expect(health.trim()).toBe("SERVING");

      const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      // Exported: every sample name, and every declared family (a labelled family without
      // children yet has no samples), with a histogram's _bucket/_sum/_count series.
      const exported = new Set(metrics.split("\n").filter((l) => l !== "" && !l.startsWith("#")).map((l) => /^[a-zA-Z_:][\w:]*/.exec(l)![0]));
      for (const m of metrics.matchAll(/^# TYPE (\S+) (\w+)$/gm)) {
        exported.add(m[1]!);
        if (m[2] === "histogram") for (const suffix of ["_bucket", "_sum", "_count"]) exported.add(m[1]! + suffix);
      }
      const dashboard = JSON.parse(readFileSync(join(DEPLOY, "grafana/dashboards/neurograph.json"), "utf8")) as { panels: { title: string; targets: { expr: string }[] }[] };
      const titles = dashboard.panels.map((p) => p.title.toLowerCase()).join(" | ");
      for (const topic of ["throughput", "wal", "quota", "field step", "sampling", "restarts"]) expect(titles).toContain(topic);
      const queried = new Set<string>();
      for (const p of dashboard.panels) {
        for (const t of p.targets) {
          // Metric names: identifiers that are not functions, keywords or label names.
          const cleaned = t.expr.replace(/\{[^}]*\}/g, "").replace(/\[[^\]]*\]/g, "").replace(/\b(?:by|without)\s*\([^)]*\)/g, "");
          for (const m of cleaned.matchAll(/[a-zA-Z_:][\w:]*(?!\s*\()/g)) if (/^(neurograph|nodejs|process)_/.test(m[0])) queried.add(m[0]);
        }
      }
      expect(queried.size).toBeGreaterThan(10);
      expect([...queried].filter((name) => !exported.has(name))).toEqual([]);

      // The field engine's worker threads start from the compiled build too.
      const client = await NeuroGraphClient.connect({ address: `127.0.0.1:${grpcPort}` });
      try {
        await client.createTokens(Array.from({ length: 40 }, (_, i) => ({ id: i + 1, weight: 0.5 })));
        await client.connect(Array.from({ length: 39 }, (_, i) => ({ source: i + 1, target: i + 2 })));
        const step = await client.field.step(3);
        expect(step.tokens).toBe(40);
      } finally {
        client.close();
      }
    } finally {
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
    }
  }, 600_000);
});
