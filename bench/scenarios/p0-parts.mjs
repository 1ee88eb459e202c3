// What separates P0's two sides, measured in parts, each pair alternated (ABBA) in one run at 10
// and 50 connections:
// - the wire: the bare Worker's /noop against its /noop-as-health, which answers the body and the
//   headers /api/health answers with, to requests carrying a JWT as P0's do;
// - the platform limiter: /api/health with the limiter off (RATE_LIMIT_PLATFORM=off) against the
//   shipped defaults, both on Actorbase.
// Not a target of its own: it says where P0's ratio goes (docs/benchmarks.md).
import { abba, benchUsers, load, pairRows, saveResult, spread, startActorbase, startBaseline, table } from "../lib.mjs";

export async function run({ name, cleanup, duration }) {
  const shipped = await startActorbase(cleanup);
  const limiterOff = await startActorbase(cleanup, { RATE_LIMIT_PLATFORM: "off" });
  const baseline = await startBaseline(cleanup);
  const users = await benchUsers("health");
  const noop = spread(users, () => ({ method: "GET", path: "/noop" }));
  const asHealth = spread(users, (u) => ({ method: "GET", path: "/noop-as-health", headers: { Authorization: u.auth } }));
  const health = spread(users, (u) => ({ method: "GET", path: "/api/health", headers: { Authorization: u.auth } }));
  const rows = [];
  for (const connections of [10, 50]) {
    const [bare, dressed] = await abba(
      () => load({ url: baseline.url, ...noop, connections, duration }),
      () => load({ url: baseline.url, ...asHealth, connections, duration }),
    );
    rows.push(...pairRows(connections, "bare Worker /noop", bare, "bare Worker /noop-as-health (JWT)", dressed));
    const [off, on] = await abba(
      () => load({ url: limiterOff.url, ...health, connections, duration }),
      () => load({ url: shipped.url, ...health, connections, duration }),
    );
    rows.push(...pairRows(connections, "/api/health, platform limiter off", off, "/api/health, shipped defaults", on));
  }
  const markdown = table(rows);
  saveResult(name, { rows, markdown, target: "none: a breakdown of p0-health" });
}
