// Starts a local Actorbase server and waits until it answers: "workerd" (what `npm start` runs) or
// "wrangler" (`wrangler dev`, what `npm run dev` runs). Shared by the scripts, the e2e suite and the benchmarks.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { copyFileSync, existsSync } from "node:fs";
import { createServer } from "node:net";
import { resolve } from "node:path";
import { ROOT } from "./dev-vars.mjs";
import { startWorkerd, untilHealthy } from "./workerd-server.mjs";

export { ROOT };

/** The servers startServer knows; ACTORBASE_SERVER picks the default (workerd). */
export const SERVERS = ["workerd", "wrangler"];

/** Creates .dev.vars from .dev.vars.example on first run, so a fresh clone starts with dev secrets. */
export function ensureDevVars() {
  const file = resolve(ROOT, ".dev.vars");
  const example = resolve(ROOT, ".dev.vars.example");
  if (existsSync(file) || !existsSync(example)) return;
  copyFileSync(example, file);
  console.log("Created .dev.vars from .dev.vars.example (development secrets; never deploy them).");
}

/** Asks the OS for a free TCP port on loopback. */
export async function freePort() {
  for (;;) {
    const server = createServer();
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const { port } = server.address();
    server.close();
    await once(server, "close");
    // A port handed out earlier may not be bound yet by the server it went to (wrangler dev takes
    // seconds): never hand it out twice in one process.
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    return port;
  }
}

const handedOut = new Set();

/**
 * Starts a local server. Options: `server` ("workerd" or "wrangler"; default $ACTORBASE_SERVER, else
 * "workerd"), `port`, `persistTo` (state directory), `vars` (override .dev.vars and wrangler.toml),
 * `config` (a wrangler config path), `cwd`, `inherit` (show output), `healthPath` (what to poll;
 * default /api/health), `timeoutMs`. Returns { server, url, port, child, output(), stop(signal) }.
 */
export async function startServer(options = {}) {
  const server = options.server ?? process.env.ACTORBASE_SERVER ?? "workerd";
  if (!SERVERS.includes(server)) throw new Error(`unknown server ${JSON.stringify(server)}; one of ${SERVERS.join(", ")}`);
  // A free port can be taken between asking and binding (a client connection's ephemeral port, a
  // dev proxy's internal socket): with no port given, retry on "address in use" with another.
  for (let attempt = 1; ; attempt++) {
    try {
      return { ...(await startOn(server, options.port ?? (await freePort()), options)), server };
    } catch (error) {
      if (options.port !== undefined || attempt === 3 || !/Address already in use|EADDRINUSE/.test(String(error))) throw error;
    }
  }
}

async function startOn(server, port, options) {
  if (server === "wrangler") return startWranglerDev({ ...options, port });
  return startWorkerd({
    ...options,
    cwd: options.cwd ?? ROOT,
    port,
    dataDir: options.persistTo ?? ".data",
    // workerd opens the V8 inspector only when asked (bench/profile.mjs sets ACTORBASE_INSPECT).
    inspectorPort: options.inspectorPort ?? (process.env.ACTORBASE_INSPECT ? await freePort() : undefined),
  });
}

/** Starts `wrangler dev` as a child process group on `options.port` (options as startServer, plus `inspectorPort`). */
async function startWranglerDev(options) {
  const { port } = options;
  const inspectorPort = options.inspectorPort ?? (await freePort());
  const args = [
    "wrangler",
    "dev",
    "--ip",
    "127.0.0.1",
    "--port",
    String(port),
    "--inspector-port",
    String(inspectorPort),
    "--show-interactive-dev-session=false",
    "--log-level",
    options.logLevel ?? "warn",
  ];
  if (options.config) args.push("--config", options.config);
  if (options.persistTo) args.push("--persist-to", options.persistTo);
  for (const [key, value] of Object.entries(options.vars ?? {})) args.push("--var", `${key}:${value}`);
  const child = spawn("npx", args, {
    cwd: options.cwd ?? ROOT,
    detached: true,
    stdio: options.inherit ? "inherit" : ["ignore", "pipe", "pipe"],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1", CI: process.env.CI ?? "" },
  });
  let log = "";
  child.stdout?.on("data", (chunk) => {
    log = (log + chunk).slice(-20_000);
  });
  child.stderr?.on("data", (chunk) => {
    log = (log + chunk).slice(-20_000);
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = async (signal = "SIGTERM") => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      return;
    }
    await Promise.race([once(child, "exit"), new Promise((r) => setTimeout(r, 5_000))]);
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {}
  };
  await untilHealthy({
    child,
    url,
    path: options.healthPath,
    timeoutMs: options.timeoutMs ?? 90_000,
    stop,
    name: "wrangler dev",
    output: () => log,
  });
  return { url, port, inspectorPort, child, output: () => log, stop };
}
