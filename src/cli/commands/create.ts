/**
 * `neurograph create <file>`: streams tokens from a JSON lines file, a packed `.bin` file or
 * stdin (`-`) through the IngestTokens stream, with a progress line, and prints the summary.
 *
 * A JSON lines file is checked completely before anything is sent (`--no-check` skips that
 * pass), so a typo on the last line does not leave the lines before it created. The node still
 * applies the messages before one it rejects (the ingest contract); the error says how many.
 */
import type { Command } from "commander";
import { DEFAULT_INGEST_BATCH, type IngestSummary } from "../../client/index.ts";
import { formatOf, LineMap, openInput, tokenRecords, type TokenFileFormat } from "./input.ts";
import { ProgressLine } from "./progress.ts";
import { choice, clientCommand, ExitCode, failWith, formatViolations, intArg, toJson, withClient } from "./shared.ts";

interface CreateFlags {
  readonly format?: TokenFileFormat;
  readonly batchSize: number;
  readonly partial?: boolean;
  readonly ids?: boolean;
  readonly quiet?: boolean;
  readonly check: boolean;
  readonly json?: boolean;
}

function locator(format: TokenFileFormat, lines: LineMap): (index: number) => string {
  return format === "bin" ? (i) => `record ${i}` : (i) => `line ${lines.line(i)}`;
}

/** Reads the whole JSON lines file once, sending nothing: any problem exits before connecting. */
async function precheck(file: string, format: TokenFileFormat): Promise<void> {
  const lines = new LineMap();
  try {
    for await (const _records of tokenRecords(openInput(file), format, lines)) {
      // Encoding each chunk is the check.
    }
  } catch (err) {
    failWith(err, locator(format, lines));
  }
}

function summaryText(s: IngestSummary, file: string, elapsedMs: number, locate: (i: number) => string): string[] {
  const rate = elapsedMs > 0 ? Math.round((s.received * 1000) / elapsedMs) : s.received;
  const out = [
    `created ${s.accepted} token(s) from ${file === "-" ? "stdin" : file}: ${s.received} received, ${s.rejectedCount} rejected, ${s.messages} message(s), ${(elapsedMs / 1000).toFixed(2)} s (${rate} tokens/s)`,
  ];
  if (s.rejectedCount > 0) {
    out.push("rejected:", ...formatViolations(s.rejected, locate));
    if (s.rejectedCount > s.rejected.length) out.push(`  (the node listed ${s.rejected.length} of ${s.rejectedCount})`);
  }
  return out;
}

export function registerCreateCommand(program: Command): void {
  const cmd = clientCommand(program, "create <file>", "create tokens from a JSON lines file, a packed .bin file of 64-byte records, or - (stdin)")
    .addOption(choice("--format <format>", "input format (default: bin for *.bin, else jsonl)", ["jsonl", "bin"]))
    .option("--batch-size <n>", "tokens per stream message", intArg(1, 100_000), DEFAULT_INGEST_BATCH)
    .option("--partial", "apply the valid tokens and report the rest (default: stop at the first bad message)")
    .option("--ids", "print the id of every token (allocated ones included)")
    .option("--no-check", "do not check a JSON lines file completely before sending it")
    .option("-q, --quiet", "no progress line");
  cmd.action(async (file: string, flags: CreateFlags) => {
    const format = formatOf(file, flags.format);
    if (format === "jsonl" && file !== "-" && flags.check) await precheck(file, format);
    const lines = new LineMap();
    const locate = locator(format, lines);
    await withClient(
      cmd,
      async (ctx) => {
        const input = openInput(file);
        const progress = new ProgressLine({ mode: ProgressLine.modeFor(flags.quiet === true), unit: "tokens" });
        const fraction = (): number | undefined => (input.size === undefined || input.size === 0 ? undefined : input.bytesRead() / input.size);
        const started = Date.now();
        const writer = ctx.client.tokenWriter({
          batchSize: flags.batchSize,
          partial: flags.partial === true,
          returnIds: flags.ids === true,
          // A stream takes as long as its input: only a deadline the user gave applies to it.
          ...(ctx.deadlineGiven ? { deadlineMs: ctx.deadlineMs } : {}),
          onProgress: (p) => progress.update(p.records, fraction()),
        });
        try {
          for await (const records of tokenRecords(input, format, lines)) await writer.write(records);
        } catch (err) {
          writer.abort();
          await writer.end().catch(() => undefined);
          throw err;
        }
        const summary = await writer.end();
        progress.finish(summary.received, input.size === undefined ? undefined : 1);
        const elapsed = Date.now() - started;
        if (ctx.json) {
          ctx.out(toJson({ ...summary, elapsedMs: elapsed, ...(flags.ids === true ? {} : { ids: undefined }) }));
        } else {
          for (const line of summaryText(summary, file, elapsed, locate)) ctx.out(line);
          if (flags.ids === true && summary.ids.length > 0) ctx.out(Array.from(summary.ids).join("\n"));
        }
        return summary.rejectedCount > 0 ? ExitCode.RequestFailed : ExitCode.Ok;
      },
      () => locate,
    );
  });
}
