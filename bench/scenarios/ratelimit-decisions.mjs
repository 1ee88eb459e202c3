// Rate limiting: decisions per second through POST /api/ratelimit/<key> (service key, a limit so
// high every decision is admitted), on one hot key and spread over 1,000 keys, against the bare
// Worker → DO no-op of bench/baseline (same key pattern) in the same run, measured ABBA (no-op,
// ours, ours, no-op), three rounds of half-length runs, so drift on the shared machine hits both alike. The baseline's /do-insert (one
// SQLite write committed per request) is shown too: a decision that has to write its state commits
// once (objects/rate-limiter/reserve.ts writes ahead, so a busy key commits only now and then).
// So is the same no-op sent as a POST with the decision's headers and body (what the request's
// shape alone costs). The 1,000 keys run twice: with gcra (each key decided about once a second,
// far below its limit, so its stored state owes a 1% reserve and covers it for good) and with
// fixed_window (whose reserve lasts the whole window). Target: decisions/s at least 80% of the
// Worker → DO no-op.
import { BENCH_VARS, abba, load, saveResult, startActorbase, startBaseline, table } from "../lib.mjs";

const CONNECTIONS = 50;
/** ABBA rounds per pattern (see abba in lib.mjs). */
const ROUNDS = 3;
const KEYS = 1_000;

/** Uses every key once (50 at a time): creating 1,000 actors and their first cleanup alarm is not what gets measured. */
async function warmKeys(url, init) {
  for (let start = 0; start < KEYS; start += 50) {
    await Promise.all(Array.from({ length: 50 }, (_, i) => fetch(url(start + i), init).then((r) => r.arrayBuffer())));
  }
}

const randomKey = (path) => (req) => ({ ...req, path: path(Math.floor(Math.random() * KEYS)) });

/** Each pattern: how to warm its keys and what to load, given the two servers' urls. */
function patterns() {
  const body = JSON.stringify({ limit: 1_000_000_000, periodMs: 60_000 });
  const windowBody = JSON.stringify({ limit: 1_000_000_000, periodMs: 60_000, algorithm: "fixed_window" });
  const headers = { Authorization: `Bearer ${BENCH_VARS.SERVICE_KEY}`, "Content-Type": "application/json" };
  const spread = (name, decision) => ({
    keys: `${KEYS} keys, ${name}`,
    warm: async (actorbase, baseline) => {
      await warmKeys((k) => `${baseline}/do-insert?key=k${k}`, { method: "POST", body: "x" });
      await warmKeys((k) => `${actorbase}/api/ratelimit/k${k}`, { method: "POST", headers, body: decision });
    },
    noop: (_actorbase, baseline, duration) =>
      load({
        url: baseline,
        requests: [{ method: "GET", setupRequest: randomKey((k) => `/do-noop?key=k${k}`) }],
        connections: CONNECTIONS,
        duration,
      }),
    postNoop: (_actorbase, baseline, duration) =>
      load({
        url: baseline,
        requests: [{ method: "POST", headers, body: decision, setupRequest: randomKey((k) => `/do-noop?key=k${k}`) }],
        connections: CONNECTIONS,
        duration,
      }),
    insert: (_actorbase, baseline, duration) =>
      load({
        url: baseline,
        requests: [{ method: "POST", body: "x", setupRequest: randomKey((k) => `/do-insert?key=k${k}`) }],
        connections: CONNECTIONS,
        duration,
      }),
    ours: (actorbase, _baseline, duration) =>
      load({
        url: actorbase,
        requests: [{ method: "POST", headers, body: decision, setupRequest: randomKey((k) => `/api/ratelimit/k${k}`) }],
        connections: CONNECTIONS,
        duration,
      }),
  });
  return {
    hot: {
      keys: "one hot key, gcra",
      warm: async () => {},
      noop: (_actorbase, baseline, duration) => load({ url: `${baseline}/do-noop?key=hot`, connections: CONNECTIONS, duration }),
      postNoop: (_actorbase, baseline, duration) =>
        load({ url: `${baseline}/do-noop?key=hot`, method: "POST", headers, body, connections: CONNECTIONS, duration }),
      insert: (_actorbase, baseline, duration) =>
        load({ url: `${baseline}/do-insert?key=hot`, method: "POST", body: "x", connections: CONNECTIONS, duration }),
      ours: (actorbase, _baseline, duration) =>
        load({ url: `${actorbase}/api/ratelimit/hot`, method: "POST", headers, body, connections: CONNECTIONS, duration }),
    },
    gcra: spread("gcra", body),
    fixed_window: spread("fixed_window", windowBody),
  };
}

/** RATELIMIT_PATTERNS=hot,gcra narrows a run while investigating; published figures use all three. */
export async function run({ name, cleanup, duration }) {
  const all = patterns();
  const chosen = (process.env.RATELIMIT_PATTERNS ?? Object.keys(all).join(",")).split(",");
  const rows = [];
  for (const key of chosen) {
    const pattern = all[key];
    if (!pattern) throw new Error(`unknown pattern ${key}; known: ${Object.keys(all).join(", ")}`);
    // Fresh servers per pattern: one pattern's actors, alarms and memory do not weigh on the next.
    const mark = cleanup.length;
    const actorbase = await startActorbase(cleanup);
    const baseline = await startBaseline(cleanup);
    try {
      await pattern.warm(actorbase.url, baseline.url);
      // Three rounds of half-length runs: 30 s of each side, interleaved more finely than one ABBA.
      const half = Math.max(3, Math.round(duration / 2));
      const [bare, decisions] = await abba(
        () => pattern.noop(actorbase.url, baseline.url, half),
        () => pattern.ours(actorbase.url, baseline.url, half),
        ROUNDS,
      );
      const commit = await pattern.insert(actorbase.url, baseline.url, duration);
      const posted = await pattern.postNoop(actorbase.url, baseline.url, duration);
      const row = (target, r) => ({
        keys: pattern.keys,
        target,
        "req/s": r.rps,
        "p50 ms": r.p50,
        "p99 ms": r.p99,
        errors: r.errors + (r.non2xx ?? 0),
        "ratio to no-op": (r.rps / bare.rps).toFixed(2),
      });
      rows.push(
        row("bare Worker → DO no-op", bare),
        row("bare Worker → DO no-op, POST with the decision's headers and body", posted),
        row("bare Worker → DO insert (1 commit)", commit),
        row("POST /api/ratelimit/<key>", decisions),
      );
    } finally {
      for (const stop of cleanup.splice(mark).reverse()) await stop();
    }
  }
  const markdown = table(rows);
  saveResult(name, { rows, markdown, connections: CONNECTIONS, target: "ratelimit decisions/s >= 0.80 x Worker->DO no-op" });
}
