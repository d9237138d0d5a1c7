#!/usr/bin/env node
// The `neurograph` command. In a checkout (src/ present) it runs the TypeScript sources through
// tsx's loader, so there is no build step between `git clone` and `npm start`; a built package
// (dist/ without src/) runs the compiled JavaScript.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const source = join(root, "src", "cli", "main.ts");
if (existsSync(source)) {
  const { register } = await import("tsx/esm/api");
  register();
  await import(pathToFileURL(source).href);
} else {
  await import(pathToFileURL(join(root, "dist", "cli", "main.js")).href);
}
