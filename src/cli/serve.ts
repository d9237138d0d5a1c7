/** `neurograph serve`: runs a node. Being built (issue 3); registers the command name only. */
import type { Command } from "commander";

export function registerServeCommand(program: Command): void {
  program
    .command("serve")
    .description("run a NeuroGraph node (embedded single node by default)")
    .action(() => {
      throw new Error("serve is not built yet");
    });
}
