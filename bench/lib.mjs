// Shared benchmark plumbing: servers, load generation (autocannon), tables and JSON results.
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join, resolve } from "node:path";
import autocannon from "autocannon";
import { SignJWT } from "jose";
import WebSocket from "ws";
import { workerdStats } from "../scripts/proc.mjs";
import { ROOT, startServer } from "../scripts/server.mjs";

export { workerdStats };

/**
 * The secrets a bench server runs with; nothing else is overridden, so every scenario measures the
 * shipped defaults (wrangler.toml's vars: sampled request log, the config's platform rate limit).
 * Scenarios about the platform limiter itself (ratelimit-platform, ratelimit-blocked) set
 * RATE_LIMIT_PLATFORM explicitly and say so.
 */
export const BENCH_VARS = {
  JWT_SECRET: "bench-secret-0123456789abcdef0123456789abcdef",
  SERVICE_KEY: "bench-service-key-0123456789",
};

/**
 * How many signed-in users a load spreads over: the shipped platform policy admits 10,000 requests
 * a minute per caller, and one user sending thousands a second would be measuring 429s. 100 users
 * stay under it up to ~16,000 req/s.
 */
export const BENCH_USERS = 100;

/** `count` users `<prefix>0`, `<prefix>1`, ... with their bearer headers: [{ sub, auth }]. */
export async function benchUsers(prefix, count = BENCH_USERS, claims = () => ({})) {
  return Promise.all(
    Array.from({ length: count }, async (_, i) => ({
      sub: `${prefix}${i}`,
      auth: `Bearer ${await benchToken(`${prefix}${i}`, claims(`${prefix}${i}`))}`,
    })),
  );
}

/**
 * Inserts one note into each user's own block (`user:<sub>`) on Actorbase and sets `user.path` to
 * read it back by id (P1's read, and profile.mjs's).
 */
export async function seedNotes(server, users) {
  for (const user of users) {
    const created = await fetch(`${server.url}/api/db/user:${user.sub}/tables/notes`, {
      method: "POST",
      headers: { Authorization: user.auth, "Content-Type": "application/json" },
      body: JSON.stringify({ title: "benchmark note", body: "read me by id", priority: 3, tags: ["bench"] }),
    });
    if (created.status !== 201) throw new Error(`setup insert answered ${created.status}: ${await created.text()}`);
    user.path = `/api/db/user:${user.sub}/tables/notes/${(await created.json()).id}`;
  }
}

/**
 * Autocannon options that send one request per item (`shape(item)`: { method, path, headers, body }),
 * each built once: connection k starts its own way through the list, so concurrent connections
 * address different items (users, blocks) from the start. A `setupRequest` would rebuild every
 * request in the load generator, which shares this machine's two cores with the server, and cost
 * one side more than the other.
 */
export function spread(items, shape) {
  const requests = items.map(shape);
  let connection = 0;
  return {
    requests,
    setupClient(client) {
      const start = Math.floor(((connection++ * 0.618034) % 1) * requests.length);
      client.setRequests([...requests.slice(start), ...requests.slice(0, start)].map((request) => ({ ...request })));
    },
  };
}

/** Signs a token the bench server accepts. */
export async function benchToken(sub, claims = {}, ttlSeconds = 3600) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(sub)
    .setIssuedAt(now)
    .setExpirationTime(now + ttlSeconds)
    .sign(new TextEncoder().encode(BENCH_VARS.JWT_SECRET));
}

/**
 * Starts a server (scripts/server.mjs options) on a fresh state dir and registers its stop
 * and the dir's removal with `cleanup`.
 */
export async function startTracked(cleanup, prefix, options = {}) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const server = await startServer({ ...options, persistTo: dir });
  cleanup.push(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return { ...server, persistDir: dir };
}

const CLOCK_TICKS_PER_SECOND = 100;

/**
 * CPU seconds used so far by the process `pgid` (a server's `child.pid`) and each process of its
 * group (`wrangler dev` leads one), from /proc (Linux): an array of { pid, command, user, system }.
 */
export function groupCpu(pgid) {
  const processes = [];
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[2]) !== pgid && Number(pid) !== pgid) continue;
      const command = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
      processes.push({
        pid: Number(pid),
        command,
        user: Number(fields[11]) / CLOCK_TICKS_PER_SECOND,
        system: Number(fields[12]) / CLOCK_TICKS_PER_SECOND,
      });
    } catch {
      // the process ended while being read
    }
  }
  return processes;
}

/**
 * CPU seconds a started server (startActorbase, startBaseline, ...) has used so far: its process
 * and every process of its group. workerd serves from one thread, so its req/s is about one over
 * this per request whenever that thread is busy all the time (docs/benchmarks.md, "One thread").
 */
export function serverCpuSeconds(server) {
  return groupCpu(server.child.pid).reduce((sum, p) => sum + p.user + p.system, 0);
}

/**
 * Starts Actorbase (fresh state dir) and tracks it for cleanup. `BENCH_SETTINGS` (JSON of vars,
 * e.g. '{"RATE_LIMIT_PLATFORM":"off"}') reruns a scenario with a setting changed, for the second
 * row docs/benchmarks.md shows next to the shipped defaults; published default rows never set it.
 */
export function startActorbase(cleanup, vars = {}) {
  return startTracked(cleanup, "actorbase-bench-", { vars: { ...BENCH_VARS, ...vars, ...benchSettings() } });
}

/** The vars `BENCH_SETTINGS` changes from the shipped defaults (none unless set), said aloud. */
export function benchSettings() {
  const settings = process.env.BENCH_SETTINGS ? JSON.parse(process.env.BENCH_SETTINGS) : {};
  if (Object.keys(settings).length > 0) console.log(`Not the shipped defaults: ${JSON.stringify(settings)}`);
  return settings;
}

/** Starts the bare baseline Worker of bench/baseline (fresh state dir). */
export function startBaseline(cleanup) {
  return startBenchWorker(cleanup, "baseline");
}

/** Starts a Worker from its own wrangler config under bench/ (fresh state dir), e.g. "realtime-naive". */
export function startBenchWorker(cleanup, name) {
  return startTracked(cleanup, `actorbase-${name}-`, { config: resolve(ROOT, `bench/${name}/wrangler.toml`), healthPath: "/noop" });
}

/**
 * Runs autocannon and returns { rps, p50, p99, errors, non2xx, total }. Options are autocannon's
 * (url, connections, duration, method, headers, body, requests, setupClient) plus `warmup` seconds
 * and `server` (the started server under load): given it, the result also has `cpuUs`, the
 * server's CPU microseconds per request answered.
 */
export async function load(options) {
  const { warmup = 2, server, ...rest } = options;
  if (warmup > 0) await autocannon({ ...rest, duration: warmup });
  const cpuBefore = server ? serverCpuSeconds(server) : 0;
  const result = await autocannon({ duration: 10, ...rest });
  const measured = {
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    total: result.requests.total,
  };
  if (server) measured.cpuUs = Math.round(((serverCpuSeconds(server) - cpuBefore) * 1e6) / Math.max(1, result.requests.total));
  return measured;
}

/**
 * Runs A, B, B, A (each a load() call) `rounds` times and returns the mean of each side: drift
 * hits both alike, and more, shorter rounds average out more of a shared machine's swings.
 */
export async function abba(runA, runB, rounds = 1) {
  const as = [];
  const bs = [];
  for (let round = 0; round < rounds; round++) {
    as.push(await runA());
    bs.push(await runB());
    bs.push(await runB());
    as.push(await runA());
  }
  const mean = (runs) => ({
    rps: Math.round(runs.reduce((sum, r) => sum + r.rps, 0) / runs.length),
    p50: runs.reduce((sum, r) => sum + r.p50, 0) / runs.length,
    p99: runs.reduce((sum, r) => sum + r.p99, 0) / runs.length,
    errors: runs.reduce((sum, r) => sum + r.errors + (r.non2xx ?? 0), 0),
    ...(runs.every((r) => r.cpuUs !== undefined) && { cpuUs: Math.round(runs.reduce((sum, r) => sum + r.cpuUs, 0) / runs.length) }),
  });
  return [mean(as), mean(bs)];
}

/**
 * The two table rows of one ABBA comparison: the bare side (ratio 1.00) and ours, as a ratio to it;
 * with the server's CPU per request when both sides measured it (load's `server`).
 */
export function pairRows(connections, bareTarget, bare, oursTarget, ours) {
  const cpu = bare.cpuUs !== undefined && ours.cpuUs !== undefined;
  const row = (target, r, ratio) => ({
    connections,
    target,
    "req/s": r.rps,
    "p50 ms": r.p50,
    "p99 ms": r.p99,
    errors: r.errors,
    ...(cpu && { "server CPU µs/req": r.cpuUs }),
    ratio,
  });
  return [row(bareTarget, bare, "1.00"), row(oursTarget, ours, (ours.rps / bare.rps).toFixed(2))];
}

/** A percentile of a numeric array. */
export function percentile(values, p) {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Prints rows as a Markdown table and returns it. */
export function table(rows) {
  if (rows.length === 0) return "";
  const columns = Object.keys(rows[0]);
  const lines = [`| ${columns.join(" | ")} |`, `| ${columns.map(() => "---").join(" | ")} |`];
  for (const row of rows) lines.push(`| ${columns.map((c) => formatCell(row[c])).join(" | ")} |`);
  const text = lines.join("\n");
  console.log(`\n${text}\n`);
  return text;
}

function formatCell(value) {
  if (typeof value === "number") return Number.isInteger(value) ? value.toLocaleString("en-US") : value.toFixed(2);
  return String(value ?? "");
}

/** The machine a result was measured on. */
export function machine() {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? "unknown",
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    date: new Date().toISOString(),
  };
}

/** The server every scenario starts (ACTORBASE_SERVER, set by run.mjs --server): "workerd" unless told. */
export function benchServer() {
  return process.env.ACTORBASE_SERVER ?? "workerd";
}

/** Results saved in this process, in order (run.mjs --server both compares them). */
export const savedResults = [];

/** Writes bench/results/<scenario>.json (and <scenario>.wrangler.json for a `wrangler dev` run). */
export function saveResult(scenario, data) {
  const dir = resolve(ROOT, "bench/results");
  mkdirSync(dir, { recursive: true });
  const server = benchServer();
  const file = join(dir, server === "workerd" ? `${scenario}.json` : `${scenario}.${server}.json`);
  const settings = process.env.BENCH_SETTINGS ? JSON.parse(process.env.BENCH_SETTINGS) : "shipped defaults";
  const result = { scenario, server, machine: machine(), settings, ...data };
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  savedResults.push(result);
  console.log(`Saved ${file}`);
}

/** Connects to the runtime's inspector and returns `send(method, params)` and `close()`. */
export async function inspector(port) {
  const [target] = await (await fetch(`http://127.0.0.1:${port}/json`)).json();
  const socket = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    socket.once("open", resolve);
    socket.once("error", reject);
  });
  let lastId = 0;
  const pending = new Map();
  socket.on("message", (data) => {
    const message = JSON.parse(data);
    pending.get(message.id)?.(message);
    pending.delete(message.id);
  });
  socket.on("close", () => {
    for (const settle of pending.values()) settle({ error: { message: "the inspector closed the connection" } });
    pending.clear();
  });
  // An answer that never comes (the runtime's inspector dropped the call) fails the call after a minute instead of hanging the run.
  const send = (method, params = {}) =>
    new Promise((resolve, reject) => {
      const id = ++lastId;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`the inspector did not answer ${method} within 60 s`));
      }, 60_000);
      pending.set(id, (message) => {
        clearTimeout(timer);
        resolve(message);
      });
      socket.send(JSON.stringify({ id, method, params }));
    });
  return { send, close: () => socket.close() };
}
