/** Client subcommands (create, get, neighbours, stats, …). Being built (issue 3). */
import type { Command } from "commander";

export function registerClientCommands(_program: Command): void {}
