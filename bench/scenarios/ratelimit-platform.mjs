// Rate limiting: the platform limiter's cost on an authenticated API call. GET /api/health with a
// JWT through the whole chain, on two servers started in the same run: one with the platform
// limiter on (RATE_LIMIT_PLATFORM=1000000000/60000, so the bench is never denied and every request
// goes through the in-isolate tier and its leases) and one with it off, measured ABBA (off, on,
// on, off). Also counts how many requests of a fresh caller made an actor call (Server-Timing).
// Target: throughput with the limiter at least 90% of the same call without it.
import { abba, benchToken, load, percentile, saveResult, startActorbase, table } from "../lib.mjs";

const CONNECTIONS = 50;

async function actorCallShare(url, headers, requests) {
  let actor = 0;
  for (let i = 0; i < requests; i++) {
    const response = await fetch(url, { headers });
    await response.arrayBuffer();
    if ((response.headers.get("server-timing") ?? "").includes('ratelimit;desc="actor"')) actor++;
  }
  return actor;
}

export async function run({ name, cleanup, duration }) {
  const on = await startActorbase(cleanup, { RATE_LIMIT_PLATFORM: "1000000000/60000" });
  const off = await startActorbase(cleanup, { RATE_LIMIT_PLATFORM: "off" });
  const headers = { Authorization: `Bearer ${await benchToken("bench-user")}` };
  // The lease calls made under load, from each response's Server-Timing (`dur` is the call's ms).
  const leaseMs = [];
  const recordLeases = (client) =>
    client.on("headers", ({ headers: raw }) => {
      const timing = /ratelimit;desc="actor";dur=(\d+)/.exec((raw ?? []).join(" "));
      if (timing) leaseMs.push(Number(timing[1]));
    });
  const [without, withLimiter] = await abba(
    () => load({ url: `${off.url}/api/health`, headers, connections: CONNECTIONS, duration }),
    () => load({ url: `${on.url}/api/health`, headers, connections: CONNECTIONS, duration, setupClient: recordLeases }),
  );
  const ratio = withLimiter.rps / without.rps;
  const rows = [
    {
      "platform limiter": "off",
      "req/s": without.rps,
      "p50 ms": without.p50,
      "p99 ms": without.p99,
      errors: without.errors,
      ratio: "1.00",
    },
    {
      "platform limiter": "on (leases)",
      "req/s": withLimiter.rps,
      "p50 ms": withLimiter.p50,
      "p99 ms": withLimiter.p99,
      errors: withLimiter.errors,
      ratio: ratio.toFixed(2),
    },
  ];
  const sample = 2_000;
  const actorCalls = await actorCallShare(
    `${on.url}/api/health`,
    { Authorization: `Bearer ${await benchToken("bench-fresh-user")}` },
    sample,
  );
  const leases = {
    calls: leaseMs.length,
    "p50 ms": percentile(leaseMs, 50),
    "p90 ms": percentile(leaseMs, 90),
    "max ms": Math.max(0, ...leaseMs),
  };
  const markdown = `${table(rows)}\n\nThroughput with the limiter / without: ${ratio.toFixed(2)}. Lease calls during the "on" runs (warm-ups included): ${leases.calls}, taking ${leases["p50 ms"]} ms at p50, ${leases["p90 ms"]} ms at p90, ${leases["max ms"]} ms at most. A fresh caller's first ${sample} sequential requests made ${actorCalls} actor calls.`;
  console.log(markdown);
  saveResult(name, {
    rows,
    ratio: Number(ratio.toFixed(3)),
    leases,
    actorCalls,
    sample,
    markdown,
    connections: CONNECTIONS,
    target: "ratio >= 0.90",
  });
}
