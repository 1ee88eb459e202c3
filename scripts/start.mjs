#!/usr/bin/env node
// npm start: the production-grade local server. The bundled Worker on workerd directly, actors on
// disk under ACTORBASE_DATA (default ./.data), listening on HOST:PORT (default 127.0.0.1:8787).
// SIGTERM or SIGINT drains: no new connections, requests in flight finish (up to 10 s), exit 0.
import { resolve } from "node:path";
import { SECRET_NAMES } from "./dev-vars.mjs";
import { ROOT, ensureDevVars } from "./server.mjs";
import { SHUTDOWN_GRACE_MS, startWorkerd } from "./workerd-server.mjs";

const port = Number(process.env.PORT ?? "8787");
if (!Number.isInteger(port) || port < 1 || port > 65_535) {
  console.error(`PORT must be a TCP port number (1-65535), got ${JSON.stringify(process.env.PORT)}`);
  process.exit(2);
}
const host = process.env.HOST ?? "127.0.0.1";
const dataDir = resolve(process.env.ACTORBASE_DATA ?? resolve(ROOT, ".data"));
ensureDevVars();

// Signals are handled from the start: one landing while the Worker bundles or workerd comes up
// stops workerd too (it ignores SIGINT itself, so it would otherwise outlive this process).
let child = null;
let server = null;
let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, async () => {
    if (stopping) return;
    stopping = true;
    if (!server) {
      console.log(`${signal} while starting: stopping.`);
      child?.kill("SIGKILL");
      process.exit(0);
    }
    console.log(`${signal}: draining (requests in flight get up to ${SHUTDOWN_GRACE_MS / 1000} s), then exiting.`);
    await server.stop("SIGTERM");
    process.exit(0);
  });
}

/** Starts workerd, or exits: 0 when a signal interrupted the start, 1 when it failed. */
async function start() {
  try {
    return await startWorkerd({ cwd: ROOT, port, host, dataDir, inherit: true, onSpawn: (spawned) => (child = spawned) });
  } catch (error) {
    if (stopping) process.exit(0);
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  }
}

server = await start();
const secrets = SECRET_NAMES.filter((name) => server.vars.values[name] !== undefined);
console.log(`Actorbase: serving on http://${host}:${port} (workerd; state in ${dataDir}). Try: curl ${server.url}/api/health`);
console.log(`Secrets: ${secrets.map((name) => `${name} from ${server.vars.sources[name]}`).join(", ") || "none set"}.`);
if (server.openFiles !== null) console.log(`Open-file limit: ${server.openFiles} (each live actor holds its SQLite files open).`);
if (host !== "127.0.0.1" && host !== "localhost" && secrets.some((name) => server.vars.sources[name].startsWith(".dev.vars"))) {
  console.warn("Warning: listening beyond loopback with development secrets from a .dev.vars file; set real ones in the environment.");
}
supervise(server, false);

/**
 * Restarts workerd on the same data when it dies on its own (it exits when the host runs out of
 * open files, for one), unless it died within a minute of its last start: then this process exits.
 */
function supervise(current, restarted) {
  const startedAt = Date.now();
  current.child.on("exit", async (code, signal) => {
    if (stopping) return;
    server = null;
    if (restarted && Date.now() - startedAt < 60_000) {
      console.error(`workerd exited again (${signal ?? code}) within a minute of restarting; giving up.`);
      process.exit(code || 1);
    }
    console.error(`workerd exited unexpectedly (${signal ?? code}); restarting on the same data.`);
    server = await start();
    console.log("workerd restarted.");
    supervise(server, true);
  });
}
