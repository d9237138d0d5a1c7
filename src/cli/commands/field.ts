/**
 * Field commands: `field step [n]`, `field run [--rate r] [--stop]`, `field fields`,
 * `field tree <token>` (the hierarchy above and below a token, printed as an indented tree).
 */
import { InvalidArgumentError, type Command } from "commander";
import type { FieldHierarchy } from "../../client/index.ts";
import { table } from "./format.ts";
import { clientCommand, idArg, intArg, numberArg, toJson, withClient } from "./shared.ts";

const SPACE_NAMES = ["L1", "L2", "L3", "L4", "L5", "L6", "L7", "L8"];

function spaceArg(v: string): number {
  const m = /^[lL]?([1-8])$/.exec(v.trim());
  if (m === null) throw new InvalidArgumentError(`expected a space L1..L8 (or 1..8), got ${v}`);
  return Number(m[1]) - 1;
}

type Parent = FieldHierarchy["descendants"][number];

/** Indented lines of the parents below `root` (members of level-1 parents listed, at most 12). */
function treeLines(root: Parent, byId: ReadonlyMap<number, Parent>, depth = 0, out: string[] = []): string[] {
  const pad = "  ".repeat(depth);
  out.push(`${pad}${root.id} (level ${root.level}, ${root.leafCount} tokens)`);
  if (root.level === 1) {
    const shown = root.members.slice(0, 12).join(", ");
    out.push(`${pad}  tokens: ${shown}${root.members.length > 12 ? `, … (${root.members.length})` : ""}`);
    return out;
  }
  for (const id of root.members) {
    const child = byId.get(id);
    if (child !== undefined) treeLines(child, byId, depth + 1, out);
    else out.push(`${pad}  ${id}`);
  }
  return out;
}

export function registerFieldCommands(program: Command): void {
  const field = program.command("field").description("the field engine: force steps, semantic fields, hierarchy");

  const step = clientCommand(field, "step [n]", "run n force steps now (default 10) and print what changed");
  step.action(async (n: string | undefined) => {
    await withClient(step, async (ctx) => {
      const steps = n === undefined ? 10 : intArg(1, 1_000_000)(n);
      const r = await ctx.client.field.step(steps, ctx.deadlineGiven ? {} : { deadlineMs: 3_600_000 });
      if (ctx.json) return ctx.out(toJson(r));
      ctx.out(
        `step ${r.step} (+${r.stepsRun}) in ${Math.round(r.durationMs)} ms: ${r.tokens} tokens, ${r.fields} fields, ${r.parents} parents` +
          ` (+${r.parentsCreated} created, ${r.parentsDeactivated} deactivated)${r.staleShards > 0 ? `, ${r.staleShards} shard batch(es) skipped for concurrent writes` : ""}`,
      );
    });
  });

  const run = clientCommand(field, "run", "step continuously at --rate steps per second, or --stop")
    .option("--rate <steps/s>", "steps per second (default 10)", numberArg(0.001, 1000))
    .option("--stop", "stop continuous stepping");
  run.action(async (flags: { rate?: number; stop?: boolean }) => {
    await withClient(run, async (ctx) => {
      const s = flags.stop === true ? await ctx.client.field.stop() : await ctx.client.field.run(flags.rate ?? 10);
      if (ctx.json) return ctx.out(toJson(s));
      ctx.out(s.running ? `running at ${s.stepsPerSecond} steps/s (step ${s.step})` : `stopped at step ${s.step}`);
      if (s.lastError !== "") ctx.err(`last batch failed: ${s.lastError}`);
    });
  });

  const fields = clientCommand(field, "fields", "list the semantic fields")
    .option("--space <L1..L8>", "only this space", spaceArg)
    .option("--level <n>", "only fields of tokens of this hierarchy level", intArg(0, 15))
    .option("--members", "list member ids");
  fields.action(async (flags: { space?: number; level?: number; members?: boolean }) => {
    await withClient(fields, async (ctx) => {
      const list = await ctx.client.field.fields({
        withMembers: flags.members === true,
        ...(flags.space === undefined ? {} : { space: flags.space }),
        ...(flags.level === undefined ? {} : { level: flags.level }),
      });
      if (ctx.json) return ctx.out(toJson(list));
      const rows = list.map((f) => [
        f.id,
        SPACE_NAMES[f.space] ?? String(f.space),
        f.level,
        f.memberCount,
        `${(f.centroid?.x ?? 0).toFixed(2)}, ${(f.centroid?.y ?? 0).toFixed(2)}, ${(f.centroid?.z ?? 0).toFixed(2)}`,
        Number(f.radius.toFixed(3)),
        f.age,
        ...(flags.members === true ? [f.members.join(",")] : []),
      ]);
      ctx.out(table(["field", "space", "level", "tokens", "centroid", "radius", "age", ...(flags.members === true ? ["members"] : [])], rows));
    });
  });

  const tree = clientCommand(field, "tree <token>", "the hierarchy a token belongs to, as an indented tree from its top parent");
  tree.action(async (token: string) => {
    await withClient(tree, async (ctx) => {
      const id = idArg(token);
      const up = await ctx.client.field.hierarchy(id);
      const rootId = up.ancestors.length > 0 ? up.ancestors[up.ancestors.length - 1]!.id : id;
      const down = await ctx.client.field.hierarchy(rootId);
      if (ctx.json) return ctx.out(toJson({ token: id, ancestors: up.ancestors, tree: down.descendants }));
      const root = down.descendants[0];
      if (root === undefined) return ctx.out(`token ${id} belongs to no field hierarchy yet`);
      const byId = new Map(down.descendants.map((p) => [p.id, p]));
      ctx.out(treeLines(root, byId).join("\n"));
    });
  });
}
