/**
 * Token commands: `get <id...>`, `delete <id...>`, and the spatial queries `neighbors`, `knn`,
 * `range`.
 */
import type { Command } from "commander";
import type { SpatialResult } from "../../client/index.ts";
import { table, TOKEN_HEADER, tokenJson, tokenRow } from "./format.ts";
import { clientCommand, ExitCode, exitWith, intArg, numberArg, parseIds, pointArg, spaceArg, toJson, withClient, type CommandContext } from "./shared.ts";

interface QueryFlags {
  readonly space: string;
  readonly limit?: number;
  readonly tokens?: boolean;
}

function printMatches(ctx: CommandContext, res: SpatialResult): void {
  if (ctx.json) {
    ctx.out(toJson({ ids: res.ids, distances: res.distances, truncated: res.truncated, ...(res.tokens === undefined ? {} : { tokens: res.tokens.map(tokenJson) }) }));
    return;
  }
  if (res.ids.length === 0) {
    ctx.out("no matches");
    return;
  }
  const rows = Array.from(res.ids, (id, i) => {
    const token = res.tokens?.[i];
    return token === undefined ? [id, res.distances[i]!] : [res.distances[i]!, ...tokenRow(token)];
  });
  ctx.out(res.tokens === undefined ? table(["id", "distance"], rows) : table(["distance", ...TOKEN_HEADER], rows));
  if (res.truncated) ctx.err(`(more tokens matched; showing the nearest ${res.ids.length}, raise --limit for more)`);
}

function spatialOptions(cmd: Command): Command {
  return cmd
    .requiredOption("--space <space>", "space L1 … L8", spaceArg)
    .option("--tokens", "print the matching tokens, not just ids and distances");
}

export function registerTokenCommands(program: Command): void {
  const get = clientCommand(program, "get <id...>", "print tokens by id")
    .option("--allow-missing", "print the tokens found and list unknown ids instead of failing");
  get.action(async (ids: string[], flags: { allowMissing?: boolean }) => {
    const wanted = parseIds(ids);
    await withClient(get, async (ctx) => {
      const res = await ctx.client.getTokens(wanted, { allowMissing: flags.allowMissing === true });
      if (ctx.json) ctx.out(toJson({ tokens: res.tokens.map(tokenJson), missing: res.missing }));
      else {
        if (res.tokens.length > 0) ctx.out(table(TOKEN_HEADER, res.tokens.map(tokenRow)));
        if (res.missing.length > 0) ctx.err(`missing: ${Array.from(res.missing).join(" ")}`);
      }
    });
  });

  const del = clientCommand(program, "delete <id...>", "delete tokens (and their connections)")
    .option("--partial", "delete the known ids and report unknown ones (default: all or nothing)");
  del.action(async (ids: string[], flags: { partial?: boolean }) => {
    const wanted = parseIds(ids);
    await withClient(del, async (ctx) => {
      const res = await ctx.client.deleteTokens(wanted, { partial: flags.partial === true });
      if (ctx.json) ctx.out(toJson(res));
      else {
        ctx.out(`deleted ${res.accepted} token(s), ${res.connectionsRemoved} connection(s) removed`);
        for (const r of res.rejected) ctx.err(`  not deleted: ${r.id} (${r.description})`);
      }
      return res.rejected.length > 0 ? ExitCode.RequestFailed : ExitCode.Ok;
    });
  });

  const neighbors = spatialOptions(clientCommand(program, "neighbors <id>", "tokens within a radius of a token in one space (alias: neighbours)"))
    .alias("neighbours")
    .requiredOption("--radius <r>", "radius in decoded units of the space", numberArg(0))
    .option("--limit <n>", "maximum matches (default: the node's, 1000)", intArg(1));
  neighbors.action(async (id: string, flags: QueryFlags & { radius: number }) => {
    const [token] = parseIds([id]);
    await withClient(neighbors, async (ctx) =>
      printMatches(ctx, await ctx.client.neighbors({ id: token!, space: flags.space, radius: flags.radius, limit: flags.limit, withTokens: flags.tokens === true })),
    );
  });

  const knn = spatialOptions(clientCommand(program, "knn [id]", "the k tokens nearest to a token or to --point, in one space"))
    .requiredOption("-k, --k <k>", "number of neighbours", intArg(1))
    .option("--point <x,y,z>", "nearest to this point instead of a token", pointArg);
  knn.action(async (id: string | undefined, flags: QueryFlags & { k: number; point?: [number, number, number] }) => {
    if ((id === undefined) === (flags.point === undefined)) exitWith(ExitCode.Usage, "knn needs either a token id or --point x,y,z (not both)");
    const token = id === undefined ? undefined : parseIds([id])[0];
    await withClient(knn, async (ctx) =>
      printMatches(ctx, await ctx.client.kNearest({ space: flags.space, k: flags.k, withTokens: flags.tokens === true, ...(token === undefined ? { point: flags.point! } : { id: token }) })),
    );
  });

  const range = spatialOptions(clientCommand(program, "range", "tokens within a radius of a point in one space"))
    .requiredOption("--center <x,y,z>", "the point, in decoded units", pointArg)
    .requiredOption("--radius <r>", "radius in decoded units of the space", numberArg(0))
    .option("--limit <n>", "maximum matches (default: the node's, 1000)", intArg(1));
  range.action(async (flags: QueryFlags & { center: [number, number, number]; radius: number }) => {
    await withClient(range, async (ctx) =>
      printMatches(ctx, await ctx.client.range({ space: flags.space, center: flags.center, radius: flags.radius, limit: flags.limit, withTokens: flags.tokens === true })),
    );
  });
}
