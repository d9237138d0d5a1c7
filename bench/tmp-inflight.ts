import { Pipeline, sustained } from "./lib/wal-pipeline.ts";
const on = await Pipeline.open(16, process.env.OFF ? "off" : {});
const d = await sustained(on, 10_000, 8, 4, 2);
console.log("TOKENS", d.tokens, (d.rate / 1e6).toFixed(2));
process.exit(0);
