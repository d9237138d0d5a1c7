/**
 * The client subcommands of `neurograph`, one module per group. They talk to a node through the
 * client library (`src/client`); connection options and exit codes are in `shared.ts`.
 */
import type { Command } from "commander";
import { registerAdminCommands } from "./admin.ts";
import { registerCreateCommand } from "./create.ts";
import { registerDemoCommand } from "./demo.ts";
import { registerFieldCommands } from "./field.ts";
import { registerGraphCommands } from "./graph.ts";
import { registerLoadCommand } from "./load.ts";
import { EXIT_CODES_HELP, usageExit } from "./shared.ts";
import { registerTokenCommands } from "./tokens.ts";
import { registerSnapshotCommand, registerWalCommands } from "./wal.ts";

export { EXIT_CODES_HELP, ExitCode } from "./shared.ts";

export function registerClientCommands(program: Command): void {
  registerCreateCommand(program);
  registerTokenCommands(program);
  registerGraphCommands(program);
  registerAdminCommands(program);
  registerSnapshotCommand(program);
  registerWalCommands(program);
  registerFieldCommands(program);
  registerLoadCommand(program);
  registerDemoCommand(program);
  // Usage errors at the top level (unknown command or option) exit with 2 as well.
  program.exitOverride(usageExit);
  program.addHelpText("after", EXIT_CODES_HELP);
}
