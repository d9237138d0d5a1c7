/**
 * Actor runtime throughput and latency in one process (DESIGN §8, issue 3):
 *   runtime.tell              messages/s, one sender → one actor
 *   runtime.ask               asks/s, sequential (await each reply)
 *   runtime.ask_concurrent    asks/s with 100 asks in flight
 *   runtime.ask_latency_p50   µs per sequential ask (p50), and runtime.ask_latency_p99
 * Asks use the default deadline (30 s), so the deadline timer is part of the cost measured.
 */
import { Actor, ActorSystem, type Ask } from "../src/runtime/index.ts";
import { emit, gc, machine } from "./lib/report.ts";

type BenchMsg = { type: "add"; n: number } | Ask<{ type: "get" }, number> | Ask<{ type: "echo"; n: number }, number>;

class BenchActor extends Actor<BenchMsg> {
  private total = 0;
  receive(m: BenchMsg): number | void {
    if (m.type === "add") this.total += m.n;
    else if (m.type === "get") return this.total;
    else return m.n;
  }
}

const system = new ActorSystem({ nodeId: "bench", mailboxCapacity: 1 << 16 });
const actor = system.spawn("bench/1", () => new BenchActor());
await system.started(actor);
const info = machine();
const seconds = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e9;

async function tellRun(messages: number): Promise<number> {
  const chunk = 10_000;
  const t0 = process.hrtime.bigint();
  for (let sent = 0; sent < messages; sent += chunk) {
    for (let i = 0; i < chunk; i++) actor.tell({ type: "add", n: 1 });
    await actor.ask({ type: "get" }); // FIFO: every tell before it has been processed
  }
  return messages / seconds(t0);
}

async function askSequential(asks: number, latenciesUs?: Float64Array): Promise<number> {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < asks; i++) {
    if (latenciesUs === undefined) {
      await actor.ask({ type: "echo", n: i });
    } else {
      const s = process.hrtime.bigint();
      await actor.ask({ type: "echo", n: i });
      latenciesUs[i] = Number(process.hrtime.bigint() - s) / 1e3;
    }
  }
  return asks / seconds(t0);
}

async function askConcurrent(asks: number, inFlight: number): Promise<number> {
  let started = 0;
  const t0 = process.hrtime.bigint();
  const lane = async (): Promise<void> => {
    while (started < asks) {
      started++;
      await actor.ask({ type: "echo", n: started });
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  return asks / seconds(t0);
}

function best(values: number[]): number {
  return Math.max(...values);
}

// Warm up the JIT on every path.
await tellRun(200_000);
await askSequential(50_000);
await askConcurrent(50_000, 100);

const tells: number[] = [];
for (let r = 0; r < 3; r++) {
  gc();
  tells.push(await tellRun(2_000_000));
}
emit("runtime.tell", best(tells), "messages/s", { messages: 2_000_000, runs: tells.map(Math.round), ...info });

const seq: number[] = [];
for (let r = 0; r < 3; r++) {
  gc();
  seq.push(await askSequential(300_000));
}
emit("runtime.ask", best(seq), "asks/s", { mode: "sequential", asks: 300_000, runs: seq.map(Math.round), ...info });

const conc: number[] = [];
for (let r = 0; r < 3; r++) {
  gc();
  conc.push(await askConcurrent(300_000, 100));
}
emit("runtime.ask_concurrent", best(conc), "asks/s", { inFlight: 100, asks: 300_000, runs: conc.map(Math.round), ...info });

const samples = 200_000;
const lat = new Float64Array(samples);
gc();
await askSequential(samples, lat);
lat.sort();
const pct = (p: number): number => lat[Math.min(samples - 1, Math.floor(p * samples))] ?? NaN;
emit("runtime.ask_latency_p50", pct(0.5), "us", { samples, mode: "sequential", ...info });
emit("runtime.ask_latency_p99", pct(0.99), "us", { samples, mode: "sequential", p999: pct(0.999), max: lat[samples - 1], ...info });

await system.shutdown();
