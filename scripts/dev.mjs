#!/usr/bin/env node
// npm run dev: `wrangler dev` with live reload on http://127.0.0.1:8787, state in the same ./.data as
// npm start. For development only: its proxy sits in every request (docs/benchmarks.md).
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { ROOT, ensureDevVars } from "./server.mjs";

ensureDevVars();
const port = process.env.PORT ?? "8787";
const persist = resolve(process.env.ACTORBASE_DATA ?? resolve(ROOT, ".data"));
const args = ["wrangler", "dev", "--ip", "127.0.0.1", "--port", port, "--persist-to", persist, ...process.argv.slice(2)];
const child = spawn("npx", args, { cwd: ROOT, stdio: "inherit", env: { ...process.env, WRANGLER_SEND_METRICS: "false" } });
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code) => process.exit(code ?? 0));
