// A burst of new tenants (issue 14, part 4): 10,000 tenant blocks that have never been written,
// one authenticated insert each (user:<sub> with its own JWT, so each is also a new caller of the
// platform limiter), 50 connections, as fast as they go, on the shipped defaults. Against the same
// burst on the bare baseline (/do-insert?key=<new key>: a Worker creating a one-table SQLite actor
// per request), run first on its own server. Samples the server's workerd open files and memory
// each second, and again 30 s after the burst. Beside the burst, a probe on a connection of its own
// asks for the server's health (the bare Worker's /noop) every 50 ms and records every answer slower
// than 500 ms with its Server-Timing, which says how long the server spent on it once it read it.
// Target: zero 5xx; open files bounded (actors released once idle).
import { Agent, request } from "node:http";
import { benchToken, percentile, saveResult, startActorbase, startBaseline, table, workerdStats } from "../lib.mjs";

const CONNECTIONS = 50;
const BLOCKS = Number(process.env.BURST_BLOCKS ?? 10_000);
const BODY = JSON.stringify({ title: "first row", priority: 1 });

/** The first failures seen (5xx bodies, network errors), for the result. */
const failures = [];

function post(agent, url, path, headers, body) {
  const started = performance.now();
  const failed = (resolve, what) => {
    if (failures.length < 10) failures.push(`${new Date().toISOString()} ${path}: ${what}`);
    resolve([0, performance.now() - started]);
  };
  return new Promise((resolve) => {
    const req = request({ host: url.hostname, port: url.port, path, method: "POST", agent, headers }, (res) => {
      const status = res.statusCode ?? 0;
      let text = "";
      if (status >= 500) res.on("data", (chunk) => (text += chunk));
      else res.resume();
      res.on("end", () => {
        if (status >= 500 && failures.length < 10) failures.push(`${new Date().toISOString()} ${path}: ${status} ${text.slice(0, 300)}`);
        resolve([status, performance.now() - started]);
      });
      res.on("error", (err) => failed(resolve, err.message));
    });
    req.on("error", (err) => failed(resolve, err.message));
    req.end(body);
  });
}

/**
 * Until `done()`, GETs `path` on a connection of its own every 50 ms; returns the answers slower
 * than 500 ms: when sent (ms into the burst), how long they took, and their Server-Timing.
 */
async function probe(url, path, started, done) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const slow = [];
  while (!done()) {
    const sent = performance.now();
    const timing = await new Promise((resolve) => {
      const req = request({ host: url.hostname, port: url.port, path, agent }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.headers["server-timing"] ?? ""));
      });
      req.on("error", (err) => resolve(`error: ${err.message}`));
      req.end();
    });
    const ms = performance.now() - sent;
    if (ms > 500) slow.push({ sentAtMs: Math.round(sent - started), ms: Math.round(ms), serverTiming: timing });
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  agent.destroy();
  return slow;
}

/** Sends `count` requests made by `requestFor(i)`, 50 at a time, sampling the server's workerd each second. */
async function burst(server, count, requestFor, probePath) {
  const url = new URL(server.url);
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const statuses = {};
  const latencies = [];
  const samples = [];
  const sampler = setInterval(() => samples.push(workerdStats(server.child.pid)), 1_000);
  const started = performance.now();
  let next = 0;
  let finished = false;
  const probed = probe(url, probePath, started, () => finished);
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (next < count) {
        const [status, ms] = await requestFor(next++, agent, url);
        statuses[status] = (statuses[status] ?? 0) + 1;
        latencies.push(ms);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  finished = true;
  const slowProbes = await probed;
  clearInterval(sampler);
  agent.destroy();
  await new Promise((r) => setTimeout(r, 30_000));
  const after = workerdStats(server.child.pid);
  const count5xx = Object.entries(statuses).reduce((n, [status, c]) => n + (Number(status) >= 500 || status === "0" ? c : 0), 0);
  const summary = {
    "blocks/s": Math.round(count / seconds),
    "p50 ms": Math.round(percentile(latencies, 50) * 10) / 10,
    "p99 ms": Math.round(percentile(latencies, 99) * 10) / 10,
    statuses: JSON.stringify(statuses),
    "5xx or network": count5xx,
    "peak open files": Math.max(0, ...samples.map((s) => s.openFiles)),
    "peak RSS MiB": Math.round(Math.max(0, ...samples.map((s) => s.rssMiB))),
    "open files 30 s later": after.openFiles,
    "slowest probe ms": Math.max(0, ...slowProbes.map((p) => p.ms)),
  };
  return { summary, slowProbes };
}

export async function run({ name, cleanup }) {
  const baseline = await startBaseline(cleanup);
  console.log(`bare: ${BLOCKS} new one-table actors`);
  const { summary: bare, slowProbes: bareProbes } = await burst(
    baseline,
    BLOCKS,
    (i, agent, url) => post(agent, url, `/do-insert?key=burst${i}`, {}, "x"),
    "/noop",
  );
  const bareFailures = failures.splice(0);
  const actorbase = await startActorbase(cleanup);
  const tokens = await Promise.all(Array.from({ length: BLOCKS }, (_, i) => benchToken(`burst${i}`)));
  console.log(`Actorbase: ${BLOCKS} new tenant blocks`);
  const { summary: ours, slowProbes: ourProbes } = await burst(
    actorbase,
    BLOCKS,
    (i, agent, url) =>
      post(
        agent,
        url,
        `/api/db/user:burst${i}/tables/notes`,
        { Authorization: `Bearer ${tokens[i]}`, "Content-Type": "application/json", "Content-Length": BODY.length },
        BODY,
      ),
    "/api/health",
  );
  const rows = [
    { target: `bare Worker → new DO INSERT, ${BLOCKS} keys`, ...bare, ratio: "1.00" },
    { target: `new tenant block, first insert, ${BLOCKS} blocks`, ...ours, ratio: (ours["blocks/s"] / bare["blocks/s"]).toFixed(2) },
  ];
  const markdown = table(rows);
  const met = ours["5xx or network"] === 0;
  if (bareFailures.length > 0) console.log(`First failures of the bare Worker:\n${bareFailures.join("\n")}`);
  if (failures.length > 0) console.log(`First failures of Actorbase:\n${failures.join("\n")}`);
  for (const [who, slow] of [
    ["bare Worker", bareProbes],
    ["Actorbase", ourProbes],
  ]) {
    if (slow.length > 0) console.log(`Probe answers slower than 500 ms (${who}): ${JSON.stringify(slow)}`);
  }
  console.log(met ? "Target met: zero 5xx." : "TARGET MISSED: 5xx or network errors in the burst.");
  saveResult(name, {
    rows,
    markdown,
    failures,
    bareFailures,
    bareProbes,
    ourProbes,
    target: "zero 5xx in a burst of 10,000 new tenant blocks",
    met,
  });
}
