// Starts `wrangler dev` as a child process group and waits until it answers /api/health.
// Shared by `npm start`, the e2e suite and the benchmarks.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** Asks the OS for a free TCP port on loopback. */
export async function freePort() {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address();
  server.close();
  await once(server, "close");
  return port;
}

/**
 * Starts a local server. Options: `port`, `persistTo` (state directory), `vars` (bindings passed
 * with --var, which override .dev.vars), `config` (a wrangler config path), `inherit` (show output), `inspectorPort`,
 * `healthPath` (what to poll; default /api/health), `timeoutMs`.
 * Returns { url, port, inspectorPort, child, output(), stop(signal) }.
 */
export async function startServer(options = {}) {
  const port = options.port ?? (await freePort());
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
  const deadline = Date.now() + (options.timeoutMs ?? 90_000);
  const healthPath = options.healthPath ?? "/api/health";
  for (;;) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited with ${child.exitCode}:\n${log}`);
    try {
      const response = await fetch(url + healthPath);
      if (response.ok) break;
    } catch {}
    if (Date.now() > deadline) {
      await stop("SIGKILL");
      throw new Error(`wrangler dev did not become healthy within the timeout:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { url, port, inspectorPort, child, output: () => log, stop };
}
