/**
 * The `neurograph` command. Each subcommand lives in its own module and registers itself on the
 * program; this file only assembles them and turns errors into a clear message and exit code.
 */
import { Command, CommanderError } from "commander";
import { NeuroGraphError } from "../core/errors.ts";
import { registerServeCommand } from "./serve.ts";
import { registerClientCommands } from "./commands/index.ts";

export function buildProgram(): Command {
  const program = new Command("neurograph")
    .description("NeuroGraph: an actor-based runtime for a self-organising knowledge graph")
    .showHelpAfterError()
    .exitOverride();
  registerServeCommand(program);
  registerClientCommands(program);
  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
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
