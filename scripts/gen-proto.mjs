#!/usr/bin/env node
// Regenerates src/gen/ from proto/ with buf + ts-proto (no network needed).
// `--check` generates into a temporary directory and fails when src/gen/ differs, so CI
// catches a proto change whose generated code was not committed.
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, existsSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const check = process.argv.includes("--check");
const buf = join(root, "node_modules", ".bin", "buf");

function listFiles(dir) {
  if (!existsSync(dir)) return [];
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listFiles(p));
    else out.push(p);
  }
  return out;
}

function generate(outDir) {
  const work = mkdtempSync(join(tmpdir(), "ng-gen-"));
  try {
    // buf writes relative to the template's `out`; run with a rewritten template.
    const template = readFileSync(join(root, "buf.gen.yaml"), "utf8").replace("out: src/gen", `out: ${join(work, "gen")}`);
    execFileSync(buf, ["generate", "--template", template], { cwd: root, stdio: ["ignore", "inherit", "inherit"] });
    rmSync(outDir, { recursive: true, force: true });
    mkdirSync(outDir, { recursive: true });
    if (existsSync(join(work, "gen"))) cpSync(join(work, "gen"), outDir, { recursive: true });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (!check) {
  generate(join(root, "src", "gen"));
  console.log("src/gen regenerated");
} else {
  const tmp = mkdtempSync(join(tmpdir(), "ng-gen-check-"));
  try {
    generate(tmp);
    const want = new Map(listFiles(tmp).map((f) => [relative(tmp, f), readFileSync(f, "utf8")]));
    const genDir = join(root, "src", "gen");
    const have = new Map(listFiles(genDir).map((f) => [relative(genDir, f), readFileSync(f, "utf8")]));
    const problems = [];
    for (const [name, text] of want) {
      if (!have.has(name)) problems.push(`missing: src/gen/${name}`);
      else if (have.get(name) !== text) problems.push(`stale: src/gen/${name}`);
    }
    for (const name of have.keys()) if (!want.has(name)) problems.push(`extra: src/gen/${name}`);
    if (problems.length > 0) {
      console.error(`src/gen is not current with proto/ (run \`npm run gen\` and commit):\n  ${problems.join("\n  ")}`);
      process.exit(1);
    }
    console.log(`src/gen is current (${want.size} files)`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
