// Entry of a field pool worker thread. In a checkout it loads the TypeScript task module through
// tsx's loader (like bin/neurograph.mjs); a built package loads the compiled JavaScript.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const source = new URL("./worker-tasks.ts", import.meta.url);
let mod;
if (existsSync(fileURLToPath(source))) {
  const { register } = await import("tsx/esm/api");
  register();
  mod = await import(source.href);
} else {
  mod = await import(new URL("./worker-tasks.js", import.meta.url).href);
}

export default mod.runFieldTask;
