// P0's load, request by request: 50 keep-alive connections (one Node HTTP agent each) send GET
// /api/health with the 100 bench users' tokens for a while, and every answer is timed. Prints the
// latency percentiles; how the platform limiter answered (`Server-Timing`: from units the isolate
// held, after a wait on another request's lease, or with an actor call) for all requests and for
// the slow ones; the slow requests that came right after one that started a lease call on the same
// connection; and the gaps in the timeline when no answer at all arrived.
//
//   node bench/health-timeline.mjs [seconds] [--bare]
//
// `--bare` sends the same load (no tokens) to the bare baseline Worker's /noop, to tell the
// server's stalls from the load generator's and the machine's. BENCH_SETTINGS applies as usual.
// The first 2 s are warm-up and not counted.
import { Agent, request } from "node:http";
import { benchUsers, startActorbase, startBaseline } from "./lib.mjs";

const CONNECTIONS = 50;
const SLOW_MS = 20;
const GAP_MS = 8;
const WARM_UP_MS = 2_000;

const args = process.argv.slice(2);
const bare = args.includes("--bare");
const seconds = Number(args.find((arg) => !arg.startsWith("--")) ?? "12");

/** GETs `path` on `agent`'s connection: resolves with the time it took and the Server-Timing header. */
function get(url, path, headers, agent) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request({ host: url.hostname, port: url.port, path, headers, agent }, (res) => {
      res.resume();
      res.on("end", () => resolve({ started, ended: performance.now(), timing: String(res.headers["server-timing"] ?? "") }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** How the limiter answered, from `Server-Timing`: `isolate`, `isolate+wait`, `actor`, or `none`. */
function limiterKind(timing) {
  const match = /ratelimit;desc="(\w+)"(?:;dur=(\d+))?/.exec(timing);
  if (!match) return "none";
  if (match[1] === "actor") return "actor";
  return match[2] === undefined ? "isolate" : "isolate+wait";
}

const tally = (map, key) => map.set(key, (map.get(key) ?? 0) + 1);

const cleanup = [];
try {
  const server = bare ? await startBaseline(cleanup) : await startActorbase(cleanup);
  const users = await benchUsers("timeline");
  const url = new URL(server.url);
  const begun = performance.now();
  const deadline = begun + seconds * 1000;
  const latencies = [];
  const ends = [];
  const kinds = new Map();
  const slowKinds = new Map();
  let afterActor = 0;
  let slowAfterActor = 0;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async (_, connection) => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      let previousCalledActor = false;
      for (let i = connection * 2; performance.now() < deadline; i++) {
        const headers = bare ? {} : { Authorization: users[i % users.length].auth };
        const answer = await get(url, bare ? "/noop" : "/api/health", headers, agent);
        const ms = answer.ended - answer.started;
        const kind = limiterKind(answer.timing);
        if (answer.started - begun >= WARM_UP_MS) {
          latencies.push(ms);
          ends.push(answer.ended);
          tally(kinds, kind);
          if (ms > SLOW_MS) tally(slowKinds, kind);
          if (previousCalledActor) {
            afterActor++;
            if (ms > SLOW_MS) slowAfterActor++;
          }
        }
        previousCalledActor = kind === "actor";
      }
      agent.destroy();
    }),
  );
  latencies.sort((a, b) => a - b);
  ends.sort((a, b) => a - b);
  const at = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))].toFixed(1);
  const slow = latencies.filter((ms) => ms > SLOW_MS).length;
  const gaps = [];
  for (let i = 1; i < ends.length; i++) if (ends[i] - ends[i - 1] > GAP_MS) gaps.push(ends[i] - ends[i - 1]);
  const counted = (seconds * 1000 - WARM_UP_MS) / 1000;
  console.log(
    `${bare ? "bare /noop" : "/api/health"}: ${latencies.length} requests in ${counted} s, ${Math.round(latencies.length / counted)} req/s`,
  );
  console.log(`latency ms: p50 ${at(0.5)}, p99 ${at(0.99)}, p99.9 ${at(0.999)}, max ${latencies.at(-1).toFixed(1)}`);
  if (!bare) {
    console.log("limiter answers:", Object.fromEntries(kinds));
    console.log(`slow (over ${SLOW_MS} ms): ${slow}, by limiter answer:`, Object.fromEntries(slowKinds));
    console.log(`right after a lease call on the same connection: ${afterActor} requests, ${slowAfterActor} of them slow`);
  }
  const stalled = gaps.reduce((sum, gap) => sum + gap, 0);
  console.log(
    `gaps over ${GAP_MS} ms with no answer: ${gaps.length}, ${Math.round(stalled)} ms in all, longest ${Math.round(Math.max(0, ...gaps))} ms`,
  );
} finally {
  for (const stop of cleanup.reverse()) await stop();
}
