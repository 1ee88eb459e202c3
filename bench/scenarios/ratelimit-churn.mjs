// Rate-limit key churn, as a public API limiting per client IP sees it (issue 14, part 4), on the
// shipped defaults: POST /api/ratelimit/<key> with the inline policy {"limit":1000,"periodMs":60000},
// 50 connections, closed loop.
//   1. warm: 1,000 keys used before, 20 s (the reference rate);
//   2. churn: a fresh set of 1,000 keys every 10 s, for the run's duration (600 s by default),
//      sampling per 10 s decisions/s, p99, 5xx, and the state directory's files and bytes;
//   3. warm again, 20 s (the reference is the mean of both warm runs);
//   4. burst: 10,000 distinct keys, each used once, as fast as 50 connections go;
//   5. restart: the server is killed (SIGKILL) and, once every cleanup is overdue (65 s later),
//      started on the same state; for 60 s health, a point read and an insert are timed while
//      decisions on the burst's keys run beside them;
//   6. idle: 150 s with no load, then the state directory is counted again.
// Targets: churn at least 0.8x the warm rate, p99 <= 250 ms, zero 5xx; burst and restart zero 5xx;
// files on disk bounded during churn and back down once the keys are idle.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { Agent, request } from "node:http";
import { startServer } from "../../scripts/server.mjs";
import { BENCH_VARS, percentile, saveResult, startActorbase, table, workerdStats } from "../lib.mjs";

/** The churn stream lasts ten minutes unless `--duration <seconds>` says otherwise. */
export const defaultDuration = 600;

const CONNECTIONS = 50;
const KEYS_PER_SET = 1_000;
const SET_MS = 10_000;
const BODY = JSON.stringify({ limit: 1_000, periodMs: 60_000 });
const SERVICE = `Bearer ${BENCH_VARS.SERVICE_KEY}`;

/** Files and bytes under the state directory. */
function stateOnDisk(dir) {
  let files = 0;
  let bytes = 0;
  const walk = (path) => {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) walk(full);
      else {
        files++;
        bytes += statSync(full).size;
      }
    }
  };
  walk(dir);
  return { files, MiB: Math.round((bytes / 2 ** 20) * 10) / 10 };
}

/** The first network errors and 5xx answers seen, with when they happened. */
const networkErrors = [];
const serverErrors = [];

/** One HTTP request; resolves to [status (0 on a network error), ms]. */
function send(agent, url, method, path, headers, body) {
  const started = performance.now();
  const failed = (resolve) => (err) => {
    if (networkErrors.length < 20) networkErrors.push(`${new Date().toISOString()} ${method} ${path}: ${err.message}`);
    resolve([0, performance.now() - started]);
  };
  return new Promise((resolve) => {
    const req = request({ host: url.hostname, port: url.port, path, method, agent, headers }, (res) => {
      const status = res.statusCode ?? 0;
      let text = "";
      if (status >= 500) res.on("data", (chunk) => (text += chunk));
      else res.resume();
      res.on("end", () => {
        if (status >= 500 && serverErrors.length < 20)
          serverErrors.push(`${new Date().toISOString()} ${method} ${path}: ${status} ${text.slice(0, 300)}`);
        resolve([status, performance.now() - started]);
      });
      res.on("error", failed(resolve));
    });
    req.on("error", failed(resolve));
    req.end(body);
  });
}

const decision = (agent, url, key) =>
  send(
    agent,
    url,
    "POST",
    `/api/ratelimit/${key}`,
    { Authorization: SERVICE, "Content-Type": "application/json", "Content-Length": BODY.length },
    BODY,
  );

/** Counts of one stretch of load. */
function tally() {
  return { ok: 0, status4xx: 0, status5xx: 0, network: 0, latencies: [] };
}

function record(t, [status, ms]) {
  t.latencies.push(ms);
  if (status >= 200 && status < 300) t.ok++;
  else if (status === 0) t.network++;
  else if (status >= 500) t.status5xx++;
  else t.status4xx++;
}

function summary(t, seconds) {
  return {
    "decisions/s": Math.round(t.latencies.length / seconds),
    "p50 ms": Math.round(percentile(t.latencies, 50) * 10) / 10,
    "p99 ms": Math.round(percentile(t.latencies, 99) * 10) / 10,
    "5xx": t.status5xx,
    "network errors": t.network,
    "other non-2xx": t.status4xx,
  };
}

/** Closed loop: `CONNECTIONS` workers each send `next(i)`'s decision as soon as the last answers, for `seconds`. */
async function drive(url, seconds, keyOf, onWindow) {
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const all = tally();
  const started = performance.now();
  const end = Date.now() + seconds * 1000;
  let window = tally();
  let windowStart = performance.now();
  const sampler = onWindow
    ? setInterval(() => {
        const now = performance.now();
        onWindow(window, (now - windowStart) / 1000);
        window = tally();
        windowStart = now;
      }, SET_MS)
    : null;
  let n = 0;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (Date.now() < end) {
        const result = await decision(agent, url, keyOf(n++));
        record(all, result);
        record(window, result);
      }
    }),
  );
  if (sampler) clearInterval(sampler);
  agent.destroy();
  return summary(all, (performance.now() - started) / 1000);
}

/** Uses each key once, 50 at a time; returns the tally and seconds taken. */
async function useOnce(url, keys) {
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const t = tally();
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (next < keys.length) record(t, await decision(agent, url, keys[next++]));
    }),
  );
  agent.destroy();
  return { t, seconds: (performance.now() - started) / 1000 };
}

/**
 * Health, a point read and an insert, in a loop each, for `seconds`, with decisions on old keys
 * beside them; as the service key (one user this busy would be over the platform limit).
 */
async function probeRoutes(url, seconds, oldKeys) {
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  const auth = { Authorization: SERVICE, "Content-Type": "application/json" };
  const row = JSON.stringify({ id: "probe", title: "probe" });
  await send(agent, url, "POST", "/api/db/user:probe/tables/notes", { ...auth, "Content-Length": row.length }, row);
  const routes = {
    health: tally(),
    read: tally(),
    insert: tally(),
    "decisions on old keys": tally(),
  };
  const end = Date.now() + seconds * 1000;
  const loop = async (name, call) => {
    while (Date.now() < end) record(routes[name], await call());
  };
  let n = 0;
  const body = (i) => JSON.stringify({ title: `after restart ${i}` });
  await Promise.all([
    loop("health", () => send(agent, url, "GET", "/api/health", { Authorization: SERVICE })),
    loop("read", () => send(agent, url, "GET", "/api/db/user:probe/tables/notes/probe", auth)),
    loop("insert", () => {
      const b = body(n++);
      return send(agent, url, "POST", "/api/db/user:probe/tables/notes", { ...auth, "Content-Length": Buffer.byteLength(b) }, b);
    }),
    loop("decisions on old keys", () => decision(agent, url, oldKeys[n++ % oldKeys.length])),
  ]);
  agent.destroy();
  return Object.entries(routes).map(([route, t]) => ({
    route,
    requests: t.latencies.length,
    "p50 ms": Math.round(percentile(t.latencies, 50) * 10) / 10,
    "p99 ms": Math.round(percentile(t.latencies, 99) * 10) / 10,
    "max ms": Math.round(Math.max(0, ...t.latencies)),
    "5xx": t.status5xx,
    "network errors": t.network,
    "other non-2xx": t.status4xx,
  }));
}

export async function run({ name, cleanup, duration }) {
  const server = await startActorbase(cleanup);
  const url = new URL(server.url);
  const dir = server.persistDir;
  const warmKeys = Array.from({ length: KEYS_PER_SET }, (_, i) => `warm-${i}`);
  await useOnce(url, warmKeys);
  const warmKey = () => warmKeys[Math.floor(Math.random() * KEYS_PER_SET)];
  console.log("warm keys, 20 s");
  const warm1 = await drive(url, 20, warmKey);

  console.log(`churn: a fresh set of ${KEYS_PER_SET} keys every ${SET_MS / 1000} s, ${duration} s`);
  const churnStart = Date.now();
  const windows = [];
  const churnKey = () => `churn-${Math.floor((Date.now() - churnStart) / SET_MS)}-${Math.floor(Math.random() * KEYS_PER_SET)}`;
  const churn = await drive(url, duration, churnKey, (t, seconds) => {
    const sample = {
      "t (s)": Math.round((Date.now() - churnStart) / 1000),
      ...summary(t, seconds),
      ...Object.fromEntries(Object.entries(stateOnDisk(dir)).map(([k, v]) => [`state ${k}`, v])),
      "workerd open files": workerdStats(server.child.pid).openFiles,
    };
    windows.push(sample);
    console.log(JSON.stringify(sample));
  });
  console.log("warm keys again, 20 s");
  const warm2 = await drive(url, 20, warmKey);
  const warmRate = (warm1["decisions/s"] + warm2["decisions/s"]) / 2;
  // What the server said besides the sampled request log (a restart of workerd, errors).
  const serverLog = server
    .output()
    .split("\n")
    .filter((line) => line.trim() !== "" && !line.includes('"sampleRate"'))
    .slice(-30);
  const rates = windows.map((w) => w["decisions/s"]);

  console.log("burst: 10,000 distinct keys, each once");
  const burstKeys = Array.from({ length: 10_000 }, (_, i) => `burst-${i}`);
  const burst = await useOnce(url, burstKeys);
  const afterBurst = stateOnDisk(dir);

  console.log("restart: SIGKILL, 65 s down (every cleanup overdue), start on the same state");
  await server.stop("SIGKILL");
  await new Promise((r) => setTimeout(r, 65_000));
  const restarted = await startServer({ persistTo: dir, vars: BENCH_VARS });
  cleanup.push(() => restarted.stop());
  const restartRows = await probeRoutes(new URL(restarted.url), 60, burstKeys);

  console.log("idle: 150 s without load");
  await new Promise((r) => setTimeout(r, 150_000));
  const idle = stateOnDisk(dir);

  const overview = [
    { phase: "warm keys, 20 s before the churn", ...warm1, ratio: (warm1["decisions/s"] / warmRate).toFixed(2) },
    { phase: "warm keys, 20 s after the churn", ...warm2, ratio: (warm2["decisions/s"] / warmRate).toFixed(2) },
    {
      phase: `churn, ${duration} s (min / median / max of 10 s windows: ${Math.min(...rates)} / ${percentile(rates, 50)} / ${Math.max(...rates)})`,
      ...churn,
      ratio: (churn["decisions/s"] / warmRate).toFixed(2),
    },
    {
      phase: `burst: 10,000 distinct keys in ${burst.seconds.toFixed(1)} s`,
      ...summary(burst.t, burst.seconds),
      ratio: (burst.t.latencies.length / burst.seconds / warmRate).toFixed(2),
    },
  ];
  const peakFiles = Math.max(0, ...windows.map((w) => w["state files"]));
  const disk = [
    { when: "peak during churn", files: peakFiles, MiB: Math.max(0, ...windows.map((w) => w["state MiB"])) },
    { when: "after the burst", ...afterBurst },
    { when: "150 s idle after the restart", ...idle },
  ];
  console.log("Decisions:");
  console.log(`The ratio is to the mean of the two warm runs (${Math.round(warmRate)} decisions/s).`);
  const markdown = table(overview);
  console.log("After the restart, 60 s:");
  const restartMarkdown = table(restartRows);
  console.log("State on disk:");
  const diskMarkdown = table(disk);
  const fivexx =
    [warm1, warm2, churn].reduce((s, r) => s + r["5xx"] + r["network errors"], 0) +
    burst.t.status5xx +
    burst.t.network +
    restartRows.reduce((s, r) => s + r["5xx"] + r["network errors"], 0);
  const met = churn["decisions/s"] >= 0.8 * warmRate && churn["p99 ms"] <= 250 && fivexx === 0 && idle.files <= peakFiles;
  if (networkErrors.length > 0) console.log(`First network errors:\n${networkErrors.join("\n")}`);
  if (serverErrors.length > 0) console.log(`First 5xx answers:\n${serverErrors.join("\n")}`);
  if (networkErrors.length + serverErrors.length > 0) console.log(`The server's log during the churn:\n${serverLog.join("\n")}`);
  console.log(met ? "Targets met." : "TARGETS MISSED: see the tables above.");
  saveResult(name, {
    overview,
    markdown,
    windows,
    overTime: table(windows),
    restartRows,
    restartMarkdown,
    disk,
    diskMarkdown,
    networkErrors,
    serverErrors,
    serverLog,
    target: "churn >= 0.8x warm, p99 <= 250 ms, zero 5xx (churn, burst, restart), files bounded and back down when idle",
    met,
  });
}
