/**
 * `neurograph serve`: runs an embedded single node. Options come from flags, `NG_*` variables,
 * a JSON config file (`--config` / `NG_CONFIG`) and defaults, in that order of precedence; every
 * bad value is reported at once and the command exits with 2. When the node serves, one line on
 * stderr says where; SIGINT/SIGTERM stop it gracefully (exit 0), a second signal forces it.
 * Data is durable in the WAL under `--data-dir` unless `--no-wal`; a shard log damaged before its
 * tail refuses the start (exit 1, DATA_LOSS, naming shard, LSN and `--repair`).
 */
import { CommanderError, type Command } from "commander";
import { ValidationError } from "../core/errors.ts";
import { startWalRecoveryEarly } from "../actors/wal/index.ts";
import { checkServeConfig, serveConfigSchema, type ServeConfig } from "../node/config.ts";
import { hugePageAdvice } from "../node/huge-pages.ts";
import { describeOptions, loadConfig } from "../runtime/index.ts";

/** Exit code of a configuration that does not validate. */
export const EXIT_BAD_CONFIG = 2;

/** Loads and checks the configuration; throws a ValidationError listing every problem. */
export function loadServeConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>> = process.env): ServeConfig {
  const loaded = loadConfig(serveConfigSchema, { argv, env });
  if (loaded.positionals.length > 0) {
    throw ValidationError.of("serve arguments", [
      { field: "args", value: loaded.positionals.join(" "), rule: "no_operands", description: `serve takes no arguments, got: ${loaded.positionals.join(" ")}` },
    ]);
  }
  checkServeConfig(loaded.values);
  return loaded.values;
}

async function serve(argv: readonly string[]): Promise<void> {
  let config: ServeConfig;
  try {
    config = loadServeConfig(argv);
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    process.stderr.write(`neurograph serve: ${err.message}\n`);
    throw new CommanderError(EXIT_BAD_CONFIG, "neurograph.config", err.message);
  }
  // The shards' snapshots start loading on recovery threads while the rest of the node loads
  // (single node with a WAL; cluster shards recover under leases).
  if (config.wal && config.nats === undefined) startWalRecoveryEarly({ dataDir: config.dataDir, shardCount: config.shards });
  const { startNode } = await import("../node/index.ts");
  const node = await startNode(config, { handleSignals: true });
  const durability = config.wal ? "write-ahead log on" : "NO write-ahead log: data is lost when the process stops";
  process.stderr.write(
    `neurograph: serving gRPC on ${node.grpcAddress} (${config.shards} shards, data dir ${config.dataDir}, metrics ${node.metricsAddress}, node ${node.nodeId}, ${durability})\n`,
  );
  const advice = hugePageAdvice();
  if (advice !== undefined) process.stderr.write(`neurograph: note: ${advice}\n`);
  // Runs until a signal stops the node (which exits the process).
  await new Promise<never>(() => undefined);
}

export function registerServeCommand(program: Command): void {
  program
    .command("serve")
    .description("run a NeuroGraph node (embedded single node)")
    .allowUnknownOption()
    .allowExcessArguments()
    .addHelpText("after", `\nOptions (flag, environment variable, config file key):\n  --config <file>  JSON config file [env NG_CONFIG]\n${describeOptions(serveConfigSchema).map((l) => `  ${l}`).join("\n")}\n`)
    .action((_options: unknown, command: Command) => serve(command.args));
}
