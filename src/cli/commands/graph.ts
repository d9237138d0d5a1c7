/**
 * Graph commands: `connect`, `disconnect` (from arguments or a JSON lines file), `connections`,
 * `traverse`, `path`, `activate` (spreading activation).
 */
import type { Command } from "commander";
import type { ConnectionInput, ConnectionKey, DirectionInput, WriteResult } from "../../client/index.ts";
import { table } from "./format.ts";
import { LineMap, openInput, readConnectionKeys, readConnections } from "./input.ts";
import { choice, clientCommand, ExitCode, exitWith, idArg, intArg, listArg, numberArg, parseIds, toJson, withClient, type CommandContext } from "./shared.ts";

const typeArg = intArg(0, 255);
const MUTABILITY = ["immutable", "learnable", "hypothesis"] as const;

interface FilterFlags {
  readonly direction?: DirectionInput;
  readonly types?: number[];
}

function filterOptions(cmd: Command): Command {
  return cmd
    .addOption(choice("--direction <dir>", "which connections to follow (default out)", ["out", "in", "both"]))
    .option("--types <t,…>", "connection types to follow, e.g. 0x50,0x51 (default all)", listArg(typeArg));
}

/** Items from `--file` or from the two positional ids; exactly one of them. */
async function itemsFrom<T>(file: string | undefined, source: string | undefined, target: string | undefined, fromArgs: (s: number, t: number) => T, read: (f: string, lines: LineMap) => Promise<T[]>, lines: LineMap): Promise<T[]> {
  if (file !== undefined) {
    if (source !== undefined) exitWith(ExitCode.Usage, "give either <source> <target> or --file, not both");
    return read(file, lines);
  }
  if (source === undefined || target === undefined) exitWith(ExitCode.Usage, "give <source> <target>, or --file with JSON lines");
  const [s, t] = parseIds([source, target]);
  return [fromArgs(s!, t!)];
}

function printWrite(ctx: CommandContext, verb: string, res: WriteResult, locate: (i: number) => string): number {
  if (ctx.json) ctx.out(toJson(res));
  else {
    ctx.out(`${verb} ${res.accepted} connection(s)`);
    for (const r of res.rejected) ctx.err(`  ${locate(r.index)}: ${r.value ?? ""} [${r.rule}] ${r.description}`);
  }
  return res.rejected.length > 0 ? ExitCode.RequestFailed : ExitCode.Ok;
}

export function registerGraphCommands(program: Command): void {
  const connect = clientCommand(program, "connect [source] [target]", "create connections: one from arguments, or many from --file (JSON lines)")
    .option("--file <file>", "JSON lines of connections, e.g. {\"source\":1,\"target\":2,\"type\":80,\"confidence\":0.9}; - for stdin")
    .option("--type <t>", "connection type 0x00..0xAF (default 0, semantic)", typeArg)
    .option("--confidence <c>", "confidence 0..1", numberArg(0, 1))
    .option("--pull <p>", "pull strength -10..10 (negative repels)", numberArg(-10, 10))
    .addOption(choice("--mutability <m>", "default: the type's", MUTABILITY))
    .option("--partial", "apply the valid connections and report the rest");
  connect.action(async (source: string | undefined, target: string | undefined, flags: { file?: string; type?: number; confidence?: number; pull?: number; mutability?: (typeof MUTABILITY)[number]; partial?: boolean }) => {
    const lines = new LineMap();
    const locate = (i: number): string => (flags.file === undefined ? "connection" : `line ${lines.line(i)}`);
    await withClient(
      connect,
      async (ctx) => {
        const items = await itemsFrom<ConnectionInput>(flags.file, source, target, (s, t) => ({
          source: s,
          target: t,
          ...(flags.type === undefined ? {} : { type: flags.type }),
          ...(flags.confidence === undefined ? {} : { confidence: flags.confidence }),
          ...(flags.pull === undefined ? {} : { pullStrength: flags.pull }),
          ...(flags.mutability === undefined ? {} : { mutability: flags.mutability }),
        }), (f, l) => readConnections(openInput(f), l), lines);
        return printWrite(ctx, "created", await ctx.client.connect(items, { partial: flags.partial === true }), locate);
      },
      () => locate,
    );
  });

  const disconnect = clientCommand(program, "disconnect [source] [target]", "remove connections: one pair from arguments, or many keys from --file")
    .option("--file <file>", "JSON lines of keys, e.g. {\"source\":1,\"target\":2,\"type\":80}; - for stdin")
    .option("--type <t>", "only this type (default: every type from source to target)", typeArg)
    .option("--partial", "remove what exists and report the rest");
  disconnect.action(async (source: string | undefined, target: string | undefined, flags: { file?: string; type?: number; partial?: boolean }) => {
    const lines = new LineMap();
    const locate = (i: number): string => (flags.file === undefined ? "connection" : `line ${lines.line(i)}`);
    await withClient(
      disconnect,
      async (ctx) => {
        const keys = await itemsFrom<ConnectionKey>(flags.file, source, target, (s, t) => ({ source: s, target: t, ...(flags.type === undefined ? {} : { type: flags.type }) }), (f, l) => readConnectionKeys(openInput(f), l), lines);
        return printWrite(ctx, "removed", await ctx.client.disconnect(keys, { partial: flags.partial === true }), locate);
      },
      () => locate,
    );
  });

  const connections = filterOptions(clientCommand(program, "connections <id...>", "the connections of tokens")).option("--limit <n>", "maximum connections", intArg(1));
  connections.action(async (ids: string[], flags: FilterFlags & { limit?: number }) => {
    const wanted = parseIds(ids);
    await withClient(connections, async (ctx) => {
      const res = await ctx.client.getConnections(wanted, { direction: flags.direction, types: flags.types, limit: flags.limit });
      if (ctx.json) ctx.out(toJson({ connections: res.connections, truncated: res.truncated }));
      else if (res.connections.length === 0) ctx.out("no connections");
      else {
        const rows = res.connections.map((c) => [c.source, c.target, `0x${c.type.toString(16).padStart(2, "0")}`, c.confidence, c.pullStrength, MUTABILITY[c.mutability] ?? String(c.mutability)]);
        ctx.out(table(["source", "target", "type", "confidence", "pull", "mutability"], rows));
      }
    });
  });

  const traverse = filterOptions(clientCommand(program, "traverse <id...>", "walk the graph from tokens (breadth- or depth-first)"))
    .addOption(choice("--order <order>", "visit order (default bfs)", ["bfs", "dfs"]))
    .option("--max-depth <n>", "maximum hops (default 3)", intArg(0))
    .option("--max-nodes <n>", "maximum tokens visited", intArg(1));
  traverse.action(async (ids: string[], flags: FilterFlags & { order?: "bfs" | "dfs"; maxDepth?: number; maxNodes?: number }) => {
    const start = parseIds(ids);
    await withClient(traverse, async (ctx) => {
      const res = await ctx.client.traverse({ start, order: flags.order, direction: flags.direction, types: flags.types, maxDepth: flags.maxDepth, maxNodes: flags.maxNodes });
      if (ctx.json) ctx.out(toJson(res));
      else {
        ctx.out(table(["id", "depth", "parent"], Array.from(res.ids, (id, i) => [id, res.depths[i]!, res.parents[i] === 0 ? "-" : String(res.parents[i])])));
        if (res.truncated) ctx.err("(stopped at --max-nodes)");
      }
    });
  });

  const path = filterOptions(clientCommand(program, "path <source> <target>", "the shortest path between two tokens"))
    .addOption(choice("--algorithm <a>", "bfs = fewest hops, dijkstra = least Σ 1/confidence (default bfs)", ["bfs", "dijkstra"]))
    .option("--max-depth <n>", "maximum hops", intArg(0));
  path.action(async (source: string, target: string, flags: FilterFlags & { algorithm?: "bfs" | "dijkstra"; maxDepth?: number }) => {
    const [s, t] = [idArg(source), idArg(target)];
    await withClient(path, async (ctx) => {
      const res = await ctx.client.shortestPath({ source: s, target: t, algorithm: flags.algorithm, direction: flags.direction, types: flags.types, maxDepth: flags.maxDepth });
      if (ctx.json) ctx.out(toJson(res));
      else if (!res.found) ctx.out(`no path from ${s} to ${t} (visited ${res.visited} token(s))`);
      else ctx.out(`${Array.from(res.path).join(" -> ")}  (cost ${Number(res.cost.toPrecision(6))}, ${res.path.length - 1} hop(s), visited ${res.visited})`);
    });
  });

  const activate = filterOptions(clientCommand(program, "activate <seed...>", "spreading activation from seed tokens"))
    .option("--energies <e,…>", "initial energy per seed (default 1 each)", listArg(numberArg(-1e6, 1e6)))
    .option("--decay <d>", "energy kept per hop, (0, 1] (default 0.5)", numberArg(0, 1))
    .option("--threshold <t>", "energy below which a token does not spread (default 0.01)", numberArg(0))
    .option("--max-depth <n>", "maximum hops (default 3)", intArg(0))
    .option("--max-results <n>", "most active tokens returned (default 1000)", intArg(1));
  activate.action(async (seeds: string[], flags: FilterFlags & { energies?: number[]; decay?: number; threshold?: number; maxDepth?: number; maxResults?: number }) => {
    const ids = parseIds(seeds);
    await withClient(activate, async (ctx) => {
      const res = await ctx.client.spreadingActivation({ seeds: ids, energies: flags.energies, decay: flags.decay, threshold: flags.threshold, maxDepth: flags.maxDepth, maxResults: flags.maxResults, direction: flags.direction, types: flags.types });
      if (ctx.json) ctx.out(toJson(res));
      else {
        ctx.out(table(["id", "energy", "depth"], Array.from(res.ids, (id, i) => [id, res.energies[i]!, res.depths[i]!])));
        if (res.truncated) ctx.err("(more tokens were activated; raise --max-results)");
      }
    });
  });
}
