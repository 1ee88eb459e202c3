#!/usr/bin/env node
// npm run bench -- <scenario> [--duration S] [--server workerd|wrangler|both]
// Runs bench/scenarios/<scenario>.mjs. Each scenario starts its servers (Actorbase and the bare
// baseline of bench/baseline) in the same run, prints a table and saves bench/results/<scenario>.json.
// --server picks how both are served: workerd (what `npm start` runs; the default), wrangler (`wrangler
// dev`, what `npm run dev` runs) or both: wrangler, workerd, workerd, wrangler, then a table of the two.
import { readdirSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { ROOT, SERVERS } from "../scripts/server.mjs";
import { compareServers } from "./servers.mjs";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { duration: { type: "string" }, server: { type: "string", default: "workerd" } },
});
const available = readdirSync(resolve(ROOT, "bench/scenarios"))
  .filter((f) => f.endsWith(".mjs"))
  .map((f) => f.slice(0, -4))
  .sort();
const name = positionals[0];
if (!name || !available.includes(name)) {
  console.error(
    `usage: npm run bench -- <scenario> [--duration seconds] [--server workerd|wrangler|both]\nscenarios: ${available.join(", ")}`,
  );
  process.exit(2);
}
if (values.server !== "both" && !SERVERS.includes(values.server)) {
  console.error(`--server must be one of ${[...SERVERS, "both"].join(", ")}`);
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
const duration = values.duration ? Number(values.duration) : (scenario.defaultDuration ?? 10);
try {
  for (const server of values.server === "both" ? ["wrangler", "workerd", "workerd", "wrangler"] : [values.server]) {
    process.env.ACTORBASE_SERVER = server;
    console.log(`\n${name} on ${server}`);
    await scenario.run({ name, cleanup, duration });
    await stopAll();
    cleanup.length = 0;
  }
  if (values.server === "both") compareServers(name);
} catch (err) {
  console.error(err);
  code = 1;
} finally {
  await stopAll();
}
process.exit(code);
