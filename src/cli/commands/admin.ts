/** Admin commands: `stats`, `shards`, `health [service]`. */
import type { Command } from "commander";
import { formatBytes, table } from "./format.ts";
import { formatDuration } from "./progress.ts";
import { clientCommand, ExitCode, toJson, withClient } from "./shared.ts";

export function registerAdminCommands(program: Command): void {
  const stats = clientCommand(program, "stats", "node-wide figures: tokens, connections, memory, shards");
  stats.action(async () => {
    await withClient(stats, async (ctx) => {
      const s = await ctx.client.stats();
      if (ctx.json) return ctx.out(toJson(s));
      ctx.out(
        table(
          ["", ""],
          [
            ["node", `${s.nodeId} (version ${s.version}, up ${formatDuration(s.uptimeSeconds * 1000)})`],
            ["address", ctx.client.address],
            ["shards", `${s.localShards} of ${s.shardCount} served here`],
            ["tokens", `${s.tokens} (${formatBytes(s.tokenBytes)})`],
            ["connections", `${s.connections} (${formatBytes(s.connectionBytes)})`],
            ["rss", formatBytes(s.rssBytes)],
          ],
        )
          .split("\n")
          .slice(1)
          .join("\n"),
      );
    });
  });

  const shards = clientCommand(program, "shards", "the virtual shards: state, size, mailbox, restarts");
  shards.action(async () => {
    await withClient(shards, async (ctx) => {
      const list = await ctx.client.listShards();
      if (ctx.json) return ctx.out(toJson(list));
      const rows = list.map((s) => [s.shard, s.nodeId, s.state, s.tokens, s.connections, formatBytes(s.tokenBytes + s.connectionBytes), `${s.mailboxDepth}/${s.mailboxCapacity}`, s.restarts]);
      ctx.out(table(["shard", "node", "state", "tokens", "connections", "bytes", "mailbox", "restarts"], rows));
    });
  });

  const health = clientCommand(program, "health [service]", "the serving status of the node, or of one service (exit 1 unless SERVING)");
  health.action(async (service: string | undefined) => {
    await withClient(health, async (ctx) => {
      const status = await ctx.client.health(service ?? "");
      if (ctx.json) ctx.out(toJson({ service: service ?? "", status }));
      else ctx.out(status);
      return status === "SERVING" ? ExitCode.Ok : ExitCode.RequestFailed;
    });
  });
}
