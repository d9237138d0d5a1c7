/**
 * The `neurograph` command. Each subcommand lives in its own module and registers itself on the
 * program; this file only assembles them and turns errors into a clear message and exit code.
 */
import { Command, CommanderError } from "commander";
import { NeuroGraphError } from "../core/errors.ts";
import { registerServeCommand } from "./serve.ts";

/**
 * The program for `argv`. A node's start time counts (every restart waits for it), so `serve`
 * does not load the client commands' modules (the client library, the load harness, the demo).
 */
export async function buildProgram(argv: readonly string[]): Promise<Command> {
  const program = new Command("neurograph")
    .description("NeuroGraph: an actor-based runtime for a self-organising knowledge graph")
    .showHelpAfterError()
    .exitOverride();
  registerServeCommand(program);
  if (argv[0] !== "serve") (await import("./commands/index.ts")).registerClientCommands(program);
  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = await buildProgram(argv);
  try {
    await program.parseAsync([...argv], { from: "user" });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof NeuroGraphError) {
      process.stderr.write(`neurograph: ${err.message} [${err.code}]\n`);
      return 1;
    }
    process.stderr.write(`neurograph: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
