// P0: GET /api/health through the whole chain (CORS, rate limit, JWT auth, routing, timing, ids)
// with a valid token, at 10 and 50 connections, against a bare Worker in the same run. Requests
// cycle through BENCH_USERS signed-in users (see lib.mjs), on the shipped defaults.
// Measured as bare, ours, ours, bare (ABBA) so drift on a shared machine hits both sides alike.
// Target: at least 85% of the bare Worker's throughput.
import { abba, benchUsers, load, pairRows, saveResult, spread, startActorbase, startBaseline, table } from "../lib.mjs";

export async function run({ name, cleanup, duration }) {
  const actorbase = await startActorbase(cleanup);
  const baseline = await startBaseline(cleanup);
  const users = await benchUsers("health");
  const health = spread(users, (u) => ({ method: "GET", path: "/api/health", headers: { Authorization: u.auth } }));
  const noop = spread(users, () => ({ method: "GET", path: "/noop" }));
  const rows = [];
  for (const connections of [10, 50]) {
    const [bare, ours] = await abba(
      () => load({ url: baseline.url, server: baseline, ...noop, connections, duration }),
      () => load({ url: actorbase.url, server: actorbase, ...health, connections, duration }),
    );
    rows.push(...pairRows(connections, "bare Worker /noop", bare, "Actorbase /api/health (JWT)", ours));
  }
  const markdown = table(rows);
  saveResult(name, { rows, markdown, target: "ratio >= 0.85" });
}
