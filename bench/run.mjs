#!/usr/bin/env node
// npm run bench -- <scenario> [--duration S]
// Runs bench/scenarios/<scenario>.mjs. Each scenario starts its servers (Actorbase and the bare
// baseline of bench/baseline) in the same run, prints a table and saves bench/results/<scenario>.json.
import { readdirSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { ROOT } from "../scripts/dev-server.mjs";

const { values, positionals } = parseArgs({ allowPositionals: true, options: { duration: { type: "string" } } });
const available = readdirSync(resolve(ROOT, "bench/scenarios"))
  .filter((f) => f.endsWith(".mjs"))
  .map((f) => f.slice(0, -4))
  .sort();
const name = positionals[0];
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- <scenario> [--duration seconds]\nscenarios: ${available.join(", ")}`);
  process.exit(2);
}
process.env.WRANGLER_SEND_METRICS = "false";
const scenario = await import(resolve(ROOT, `bench/scenarios/${name}.mjs`));
const cleanup = [];
const stopAll = async () => {
  for (const fn of cleanup.reverse()) await fn().catch(() => {});
};
process.on("SIGINT", () => stopAll().then(() => process.exit(130)));
let code = 0;
try {
  await scenario.run({ name, cleanup, duration: values.duration ? Number(values.duration) : (scenario.defaultDuration ?? 10) });
} catch (err) {
  console.error(err);
  code = 1;
} finally {
  await stopAll();
}
process.exit(code);
