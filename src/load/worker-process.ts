/**
 * The entry of a worker process (`neurograph load-worker`, hidden): receives its plan over IPC,
 * connects, reports ready, starts at the coordinator's common start time, reports the result.
 */
import { performance } from "node:perf_hooks";
import { errorCode } from "./ops.ts";
import type { FromWorker, ToWorker } from "./protocol.ts";
import { LoadWorker } from "./worker.ts";

export function runWorkerProcess(): Promise<number> {
  const send = (msg: FromWorker): void => {
    if (process.connected) process.send?.(msg);
  };
  if (process.send === undefined) {
    process.stderr.write("neurograph: load-worker is started by `neurograph load`, not by hand\n");
    return Promise.resolve(2);
  }
  return new Promise((resolve) => {
    let worker: LoadWorker | undefined;
    let index = -1;
    const fail = (err: unknown): void => {
      send({ type: "failed", index, code: errorCode(err), message: err instanceof Error ? err.message : String(err) });
      process.disconnect();
      resolve(1);
    };
    process.on("disconnect", () => {
      worker?.stop();
    });
    process.on("message", (raw: unknown) => {
      const msg = raw as ToWorker;
      if (msg.type === "plan") {
        index = msg.index;
        worker = new LoadWorker(msg.plan, msg.index, send);
        worker.prepare().then(() => send({ type: "ready", index }), fail);
      } else if (msg.type === "start" && worker !== undefined) {
        const t0 = performance.now() + (msg.atEpochMs - Date.now());
        worker.run(t0).then((result) => {
          send({ type: "result", result });
          process.disconnect();
          resolve(0);
        }, fail);
      } else if (msg.type === "stop") {
        worker?.stop();
      }
    });
  });
}
