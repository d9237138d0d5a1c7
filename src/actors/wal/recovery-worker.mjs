// Entry of a recovery thread (recovery-pool.ts) in a checkout: loads the TypeScript worker
// through tsx's loader (like bin/neurograph.mjs). A build starts recovery-worker.js directly.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const source = new URL("./recovery-worker.ts", import.meta.url);
if (existsSync(fileURLToPath(source))) {
  const { register } = await import("tsx/esm/api");
  register();
  await import(source.href);
} else {
  await import(new URL("./recovery-worker.js", import.meta.url).href);
}
