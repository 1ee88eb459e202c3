// Rate limiting: server CPU time per request (user + system, from /proc, summed over the server's
// process group) for the bare Worker → DO no-op, the bare one-insert DO and POST /api/ratelimit/<key>,
// on one hot key or 1,000 keys (RATELIMIT_CPU_KEYS=hot|spread, default spread). Req/s moves with
// whatever else the shared machine runs; CPU per request much less, so this shows where a
// decision's cost goes. Two rounds, each a fixed number of requests after a warm-up.
import autocannon from "autocannon";
import { BENCH_VARS, saveResult, serverCpuSeconds, startActorbase, startBaseline, table } from "../lib.mjs";

const KEYS = 1_000;
const REQUESTS = 15_000;

export async function run({ name, cleanup }) {
  const actorbase = await startActorbase(cleanup);
  const baseline = await startBaseline(cleanup);
  const spread = (process.env.RATELIMIT_CPU_KEYS ?? "spread") !== "hot";
  const key = () => (spread ? `k${Math.floor(Math.random() * KEYS)}` : "hot");
  const headers = { Authorization: `Bearer ${BENCH_VARS.SERVICE_KEY}`, "Content-Type": "application/json" };
  const body = JSON.stringify({ limit: 1_000_000_000, periodMs: 60_000 });
  const targets = [
    ["bare Worker → DO no-op", baseline, { method: "GET", setupRequest: (r) => ({ ...r, path: `/do-noop?key=${key()}` }) }],
    [
      "bare Worker → DO insert (1 commit)",
      baseline,
      { method: "POST", body: "x", setupRequest: (r) => ({ ...r, path: `/do-insert?key=${key()}` }) },
    ],
    [
      "POST /api/ratelimit/<key> (gcra)",
      actorbase,
      { method: "POST", headers, body, setupRequest: (r) => ({ ...r, path: `/api/ratelimit/${key()}` }) },
    ],
  ];
  const rows = [];
  for (const round of [1, 2]) {
    for (const [target, server, request] of targets) {
      await autocannon({ url: server.url, requests: [request], connections: 50, amount: 3_000 });
      const before = serverCpuSeconds(server);
      const started = Date.now();
      const result = await autocannon({ url: server.url, requests: [request], connections: 50, amount: REQUESTS });
      const cpu = serverCpuSeconds(server) - before;
      rows.push({
        round,
        keys: spread ? `${KEYS} keys` : "one hot key",
        target,
        "req/s": Math.round(REQUESTS / ((Date.now() - started) / 1000)),
        "server CPU µs/request": Math.round((cpu / REQUESTS) * 1e6),
        errors: result.errors + result.non2xx,
      });
    }
  }
  const markdown = table(rows);
  saveResult(name, { rows, markdown, requests: REQUESTS });
}
