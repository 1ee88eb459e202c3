// Rate limiting: decisions per second through POST /api/ratelimit/<key> (service key, gcra, every
// decision admitted and written), on one hot key and spread over 1,000 keys, against the bare
// Worker → DO no-op of bench/baseline (same key pattern) in the same run, measured ABBA (no-op,
// ours, ours, no-op) so drift on the shared machine hits both alike. The baseline's /do-insert (one
// SQLite write committed per request) is shown too: each admitted decision commits one write.
// Target: decisions/s at least 80% of the Worker → DO no-op.
import { BENCH_VARS, abba, load, saveResult, startActorbase, startBaseline, table } from "../lib.mjs";

const CONNECTIONS = 50;
const KEYS = 1_000;

/** Uses every key once (50 at a time): creating 1,000 actors and their first cleanup alarm is not what gets measured. */
async function warmKeys(url, init) {
  for (let start = 0; start < KEYS; start += 50) {
    await Promise.all(Array.from({ length: 50 }, (_, i) => fetch(url(start + i), init).then((r) => r.arrayBuffer())));
  }
}

const randomKey = (path) => (req) => ({ ...req, path: path(Math.floor(Math.random() * KEYS)) });

export async function run({ name, cleanup, duration }) {
  const actorbase = await startActorbase(cleanup);
  const baseline = await startBaseline(cleanup);
  const body = JSON.stringify({ limit: 1_000_000_000, periodMs: 60_000 });
  const headers = { Authorization: `Bearer ${BENCH_VARS.SERVICE_KEY}`, "Content-Type": "application/json" };
  await warmKeys((k) => `${baseline.url}/do-insert?key=k${k}`, { method: "POST", body: "x" });
  await warmKeys((k) => `${actorbase.url}/api/ratelimit/k${k}`, { method: "POST", headers, body });
  const patterns = [
    {
      keys: "one hot key",
      noop: () => load({ url: `${baseline.url}/do-noop?key=hot`, connections: CONNECTIONS, duration }),
      insert: () => load({ url: `${baseline.url}/do-insert?key=hot`, method: "POST", body: "x", connections: CONNECTIONS, duration }),
      ours: () => load({ url: `${actorbase.url}/api/ratelimit/hot`, method: "POST", headers, body, connections: CONNECTIONS, duration }),
    },
    {
      keys: `${KEYS} keys`,
      noop: () => load({ url: baseline.url, requests: [{ method: "GET", setupRequest: randomKey((k) => `/do-noop?key=k${k}`) }], connections: CONNECTIONS, duration }),
      insert: () => load({ url: baseline.url, requests: [{ method: "POST", body: "x", setupRequest: randomKey((k) => `/do-insert?key=k${k}`) }], connections: CONNECTIONS, duration }),
      ours: () => load({ url: actorbase.url, requests: [{ method: "POST", headers, body, setupRequest: randomKey((k) => `/api/ratelimit/k${k}`) }], connections: CONNECTIONS, duration }),
    },
  ];
  const rows = [];
  for (const { keys, noop, insert, ours } of patterns) {
    const [bare, decisions] = await abba(noop, ours);
    const commit = await insert();
    const row = (target, r) => ({ keys, target, "req/s": r.rps, "p50 ms": r.p50, "p99 ms": r.p99, errors: r.errors + (r.non2xx ?? 0), "ratio to no-op": (r.rps / bare.rps).toFixed(2) });
    rows.push(row("bare Worker → DO no-op", bare), row("bare Worker → DO insert (1 commit)", commit), row("POST /api/ratelimit/<key>", decisions));
  }
  const markdown = table(rows);
  saveResult(name, { rows, markdown, connections: CONNECTIONS, target: "ratelimit decisions/s >= 0.80 x Worker->DO no-op" });
}
