#!/usr/bin/env node
// npm start: serves the demo app on http://127.0.0.1:8787 with state persisted in ./.data.
// Creates .dev.vars from .dev.vars.example on first run so a fresh clone starts with dev secrets.
import { spawn } from "node:child_process";
import { copyFileSync, existsSync } from "node:fs";
import { resolve } from "node:path";
import { ROOT } from "./dev-server.mjs";

const devVars = resolve(ROOT, ".dev.vars");
if (!existsSync(devVars)) {
  copyFileSync(resolve(ROOT, ".dev.vars.example"), devVars);
  console.log("Created .dev.vars from .dev.vars.example (development secrets; never deploy them).");
}
const port = process.env.PORT ?? "8787";
const persist = process.env.ACTORBASE_DATA ?? resolve(ROOT, ".data");
console.log(
  `Actorbase: serving the demo app on http://127.0.0.1:${port} (state in ${persist}). Try: curl http://127.0.0.1:${port}/api/health`,
);
const child = spawn("npx", ["wrangler", "dev", "--ip", "127.0.0.1", "--port", port, "--persist-to", persist, ...process.argv.slice(2)], {
  cwd: ROOT,
  stdio: "inherit",
  env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code) => process.exit(code ?? 0));
