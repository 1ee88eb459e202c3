// Rate limiting: decisions per second through POST /api/ratelimit/<key> (service key, gcra, every
// decision admitted and written), on one hot key and spread over 1,000 keys, against the bare
// Worker → DO no-op of bench/baseline (same key pattern) in the same run. The baseline's
// /do-insert (one SQLite write committed per request) is shown too: each decision commits one write.
// Target: decisions/s at least 80% of the Worker → DO no-op.
import { BENCH_VARS, load, saveResult, startActorbase, startBaseline, table } from "../lib.mjs";

const CONNECTIONS = 50;
const KEYS = 1_000;

/** Touches every key once (50 at a time) so that creating 1,000 actors is not what gets measured. */
async function warmKeys(url, init) {
  for (let start = 0; start < KEYS; start += 50) {
    await Promise.all(Array.from({ length: 50 }, (_, i) => fetch(url(start + i), init).then((r) => r.arrayBuffer())));
  }
}

export async function run({ name, cleanup, duration }) {
  const actorbase = await startActorbase(cleanup);
  const baseline = await startBaseline(cleanup);
  const body = JSON.stringify({ limit: 1_000_000_000, periodMs: 60_000 });
  const headers = { Authorization: `Bearer ${BENCH_VARS.SERVICE_KEY}`, "Content-Type": "application/json" };
  const spread = (path) => [{ method: "GET", setupRequest: (req) => ({ ...req, path: path(Math.floor(Math.random() * KEYS)) }) }];
  const spreadPost = (path) => [{ method: "POST", headers, body, setupRequest: (req) => ({ ...req, path: path(Math.floor(Math.random() * KEYS)) }) }];
  await warmKeys((k) => `${baseline.url}/do-noop?key=k${k}`, {});
  await warmKeys((k) => `${actorbase.url}/api/ratelimit/k${k}`, { method: "POST", headers, body: JSON.stringify({ limit: 1_000_000_000, periodMs: 60_000, cost: 0 }) });
  const cases = [
    ["one hot key", "bare Worker → DO no-op", () => load({ url: `${baseline.url}/do-noop?key=hot`, connections: CONNECTIONS, duration })],
    ["one hot key", "bare Worker → DO insert (1 commit)", () => load({ url: `${baseline.url}/do-insert?key=hot`, method: "POST", body: "x", connections: CONNECTIONS, duration })],
    ["one hot key", "POST /api/ratelimit/<key>", () => load({ url: `${actorbase.url}/api/ratelimit/hot`, method: "POST", headers, body, connections: CONNECTIONS, duration })],
    [`${KEYS} keys`, "bare Worker → DO no-op", () => load({ url: baseline.url, requests: spread((k) => `/do-noop?key=k${k}`), connections: CONNECTIONS, duration })],
    [`${KEYS} keys`, "bare Worker → DO insert (1 commit)", () => load({ url: baseline.url, requests: [{ method: "POST", body: "x", setupRequest: (req) => ({ ...req, path: `/do-insert?key=k${Math.floor(Math.random() * KEYS)}` }) }], connections: CONNECTIONS, duration })],
    [`${KEYS} keys`, "POST /api/ratelimit/<key>", () => load({ url: actorbase.url, requests: spreadPost((k) => `/api/ratelimit/k${k}`), connections: CONNECTIONS, duration })],
  ];
  const rows = [];
  let noop = 0;
  for (const [keys, target, fn] of cases) {
    const result = await fn();
    if (target.includes("no-op")) noop = result.rps;
    rows.push({ keys, target, "req/s": result.rps, "p50 ms": result.p50, "p99 ms": result.p99, errors: result.errors + result.non2xx, "ratio to no-op": (result.rps / noop).toFixed(2) });
  }
  const markdown = table(rows);
  saveResult(name, { rows, markdown, connections: CONNECTIONS, target: "ratelimit decisions/s >= 0.80 x Worker->DO no-op" });
}
