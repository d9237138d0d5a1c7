/**
 * `npm run bench -- <group> [filter]` runs every `bench/<group>*.ts` file in its own child
 * process (so memory figures and JIT state do not leak between benches) and passes their JSON
 * lines through on stdout. Each line: {"bench":"<group>.<name>","value":n,"unit":"...",...}.
 * Progress and diagnostics go to stderr so stdout stays machine-readable.
 */
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const [group, ...rest] = process.argv.slice(2);
if (group === undefined || group === "") {
  const groups = new Set(readdirSync(here).filter((f) => f.endsWith(".ts") && f !== "run.ts").map((f) => f.split(/[.-]/)[0]));
  console.error(`usage: npm run bench -- <group> [args]\ngroups: ${[...groups].sort().join(", ")}`);
  process.exit(2);
}
const files = readdirSync(here)
  .filter((f) => f.endsWith(".ts") && f !== "run.ts" && (f === `${group}.ts` || f.startsWith(`${group}.`) || f.startsWith(`${group}-`)))
  .sort();
if (files.length === 0) {
  console.error(`no benchmark files match bench/${group}*.ts`);
  process.exit(2);
}
let failed = 0;
for (const file of files) {
  console.error(`bench: ${file}`);
  const r = spawnSync(process.execPath, ["--expose-gc", "--import", "tsx", join(here, file), ...rest], {
    stdio: ["ignore", "inherit", "inherit"],
  });
  if (r.status !== 0) {
    console.error(`bench: ${file} failed with ${r.status ?? r.signal}`);
    failed++;
  }
}
process.exit(failed === 0 ? 0 : 1);
