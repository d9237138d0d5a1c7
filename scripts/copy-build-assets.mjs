// `npm run build` step after tsc: copies the plain JavaScript modules of src/ (worker entries,
// `*.mjs`) into dist/ (or the directory given), which tsc does not emit; the field pool's
// threads start from them.
import { copyFileSync, mkdirSync, readdirSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const src = join(root, "src");
const dist = process.argv[2] ?? join(root, "dist");

function* walk(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else if (e.name.endsWith(".mjs")) yield p;
  }
}

let copied = 0;
for (const file of walk(src)) {
  const to = join(dist, relative(src, file));
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(file, to);
  copied++;
}
console.log(`copied ${copied} .mjs module(s) into dist/`);
