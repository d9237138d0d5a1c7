/**
 * Last-resort handlers for `uncaughtException` and `unhandledRejection`. Supervision is what keeps
 * actors alive; an error that reaches the process is a bug whose state cannot be trusted, so the
 * handler logs it with its stack, records it in the black box, dumps the black box (synchronously),
 * gives `onFatal` a bounded moment (flush traces, close stores) and exits non-zero.
 */
import type { Logger } from "pino";
import { errorAttributes, errorSummary, type BlackBox } from "./black-box.ts";

export type FatalOrigin = "uncaughtException" | "unhandledRejection";

export interface FatalHandlerOptions {
  readonly blackBox: BlackBox;
  readonly logger: Logger;
  /** Last cleanup before exit (e.g. flush tracing); bounded by `cleanupTimeoutMs`. */
  readonly onFatal?: (error: unknown, origin: FatalOrigin) => void | Promise<void>;
  /** Default 3000 ms. */
  readonly cleanupTimeoutMs?: number;
  /** Exit status; default 1 (Node's own status for an uncaught exception). */
  readonly exitCode?: number;
  /** How to exit; default `process.exit`. */
  readonly exit?: (code: number) => void;
}

let installed: { readonly uninstall: () => void } | undefined;

/**
 * Installs the handlers once per process (later calls return the same uninstall function and
 * keep the first options). The returned function removes them.
 */
export function installFatalHandlers(options: FatalHandlerOptions): () => void {
  if (installed !== undefined) return installed.uninstall;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const exitCode = options.exitCode ?? 1;
  let handling = false;

  const handle = (error: unknown, origin: FatalOrigin): void => {
    if (handling) {
      // A second failure while handling the first: report it plainly and leave now.
      process.stderr.write(`fatal: ${origin} while handling a fatal error: ${errorSummary(error)}\n`);
      exit(exitCode);
      return;
    }
    handling = true;
    const summary = errorSummary(error);
    try {
      options.logger.fatal({ err: error, origin }, `fatal ${origin}: ${summary}; dumping the black box and exiting`);
    } catch {
      process.stderr.write(`fatal ${origin}: ${summary}\n${error instanceof Error ? (error.stack ?? "") : ""}\n`);
    }
    try {
      options.blackBox.record("fatal", origin, `fatal ${origin}: ${summary}`, errorAttributes(error));
      const dump = options.blackBox.dumpSync(`fatal ${origin}: ${summary}`, { origin, error: errorAttributes(error) });
      options.logger.fatal({ path: dump.path, events: dump.events }, "black box dumped");
    } catch (dumpError) {
      process.stderr.write(`fatal: black box dump failed: ${errorSummary(dumpError)}\n`);
    }
    const onFatal = options.onFatal;
    if (onFatal === undefined) {
      exit(exitCode);
      return;
    }
    const timer = setTimeout(() => exit(exitCode), options.cleanupTimeoutMs ?? 3000);
    Promise.resolve()
      .then(() => onFatal(error, origin))
      .catch((cleanupError: unknown) => process.stderr.write(`fatal: cleanup failed: ${errorSummary(cleanupError)}\n`))
      .finally(() => {
        clearTimeout(timer);
        exit(exitCode);
      });
  };

  const onException = (error: Error, origin: string): void => {
    handle(error, origin === "unhandledRejection" ? "unhandledRejection" : "uncaughtException");
  };
  const onRejection = (reason: unknown): void => handle(reason, "unhandledRejection");
  process.on("uncaughtException", onException);
  process.on("unhandledRejection", onRejection);

  const uninstall = (): void => {
    process.off("uncaughtException", onException);
    process.off("unhandledRejection", onRejection);
    if (installed?.uninstall === uninstall) installed = undefined;
  };
  installed = { uninstall };
  return uninstall;
}
