// The production server behind `npm start`: workerd serving the bundled Worker directly (no dev proxy
// in the request path), SQLite actors on local disk (docs/operations.md, "Serving").
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The workerd binary the `workerd` package installed. */
const WORKERD = createRequire(import.meta.url)("workerd").default;

/** How long a stop waits for requests in flight (open WebSockets included) before it kills workerd. */
export const SHUTDOWN_GRACE_MS = 10_000;

/**
 * Starts workerd serving the Worker of `config` (default wrangler.toml in `cwd`). Options: `port`,
 * `host` (default 127.0.0.1), `inspectorPort` (V8 inspector), `dataDir` (actors under `<dataDir>/v3/do`), `vars` (override every
 * other source), `inherit` (share this process's stdout/stderr), `healthPath`, `timeoutMs`, `onSpawn(child)`
 * (called as soon as workerd runs, before it answers).
 * Returns { url, port, child, output(), stop(signal), vars } once `healthPath` answers.
 */
export async function startWorkerd(options) {
  const buildDir = mkdtempSync(join(tmpdir(), "actorbase-serve-"));
  const cleanup = () => rmSync(buildDir, { recursive: true, force: true });
  let child;
  try {
    const request = {
      config: resolve(options.config ?? join(options.cwd, "wrangler.toml")),
      outdir: buildDir,
      actorDir: resolve(options.dataDir, "v3", "do"),
      address: `${options.host ?? "127.0.0.1"}:${options.port}`,
      vars: options.vars ?? {},
    };
    // The request goes on stdin: it may hold secrets, which a command line would show to every local user.
    const script = join(dirname(fileURLToPath(import.meta.url)), "workerd-config.mjs");
    const prepared = spawnSync(process.execPath, [script], {
      input: JSON.stringify(request),
      encoding: "utf8",
      maxBuffer: 16 * 1024 * 1024,
    });
    if (prepared.status !== 0) throw new Error(`preparing the server failed:\n${prepared.stderr}`);
    const vars = JSON.parse(prepared.stdout);
    const inspect = options.inspectorPort ? ` --inspector-addr=127.0.0.1:${Number(options.inspectorPort)}` : "";
    // Each live actor keeps its SQLite files open, so the open-file limit bounds how many can be alive
    // at once: raise the soft limit to the hard one (Docker's default soft limit is 1,024).
    // workerd dies on SIGINT; ignoring it (inherited through exec) leaves Ctrl-C to stop(), which drains.
    const command = `ulimit -n "$(ulimit -Hn)" 2>/dev/null; trap "" INT; exec "$0" serve config.capnp${inspect}`;
    child = spawn("sh", ["-c", command, WORKERD], {
      cwd: buildDir,
      stdio: options.inherit ? ["ignore", "inherit", "inherit"] : ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...vars.values },
    });
    options.onSpawn?.(child);
    return await awaitHealthy(child, options, cleanup, vars);
  } catch (error) {
    child?.kill("SIGKILL");
    cleanup();
    throw error;
  }
}

async function awaitHealthy(child, options, cleanup, vars) {
  let log = "";
  const keep = (chunk) => {
    log = (log + chunk).slice(-20_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise((resolveExit) => child.once("exit", resolveExit));
  exited.then(cleanup);
  const url = `http://${options.host && options.host !== "0.0.0.0" ? options.host : "127.0.0.1"}:${options.port}`;
  /** SIGTERM drains (workerd stops accepting and lets requests finish); past the grace period it is killed. */
  const stop = async (signal = "SIGTERM") => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    const timer = setTimeout(() => child.kill("SIGKILL"), signal === "SIGKILL" ? 0 : SHUTDOWN_GRACE_MS);
    await exited;
    clearTimeout(timer);
  };
  await untilHealthy({
    child,
    url,
    path: options.healthPath,
    timeoutMs: options.timeoutMs ?? 60_000,
    stop,
    name: "workerd",
    output: () => log,
  });
  return {
    url,
    port: options.port,
    inspectorPort: options.inspectorPort,
    child,
    output: () => log,
    stop,
    vars,
    openFiles: openFileLimit(child.pid),
  };
}

/**
 * Polls `url + path` (default /api/health) until it answers 2xx. Throws with the server's output if
 * `child` exits first or `timeoutMs` passes (then it is killed with `stop("SIGKILL")`).
 */
export async function untilHealthy({ child, url, path = "/api/health", timeoutMs, stop, name, output }) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${name} exited with ${child.exitCode ?? child.signalCode}:\n${output()}`);
    }
    try {
      const response = await fetch(url + path);
      if (response.ok) return;
    } catch {}
    if (Date.now() > deadline) {
      await stop("SIGKILL");
      throw new Error(`${name} did not become healthy within ${timeoutMs / 1000} s:\n${output()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The open-file limit a running process got (Linux /proc), or null where it cannot be read. */
function openFileLimit(pid) {
  try {
    const line = readFileSync(`/proc/${pid}/limits`, "utf8")
      .split("\n")
      .find((l) => l.startsWith("Max open files"));
    const soft = Number(line?.split(/\s{2,}/)[1]);
    return Number.isFinite(soft) ? soft : null;
  } catch {
    return null;
  }
}
