// New callers: GET /api/health with no credentials, every request from an address the server has
// not seen (CF-Connecting-IP), so each is a new caller of the platform limiter (its own lease from
// a RateLimiterDO shard, its own slot in the isolate's limiter), against a bare Worker's /noop in
// the same run (ABBA), 10 connections, shipped defaults. What a public API pays for a stream of new
// visitors, next to what it pays for known ones (P0). No target of its own.
import { abba, load, pairRows, saveResult, startActorbase, startBaseline, table } from "../lib.mjs";

let sent = 0;

/** The next request, from an address of its own. */
function fromNewAddress(request) {
  sent++;
  const ip = `10.${(sent >> 16) & 255}.${(sent >> 8) & 255}.${sent & 255}`;
  return { ...request, path: "/api/health", headers: { "CF-Connecting-IP": ip } };
}

export async function run({ name, cleanup, duration }) {
  const actorbase = await startActorbase(cleanup);
  const baseline = await startBaseline(cleanup);
  const connections = 10;
  const [bare, ours] = await abba(
    () => load({ url: baseline.url, server: baseline, requests: [{ method: "GET", path: "/noop" }], connections, duration }),
    () =>
      load({ url: actorbase.url, server: actorbase, requests: [{ method: "GET", setupRequest: fromNewAddress }], connections, duration }),
  );
  const rows = pairRows(connections, "bare Worker /noop", bare, "Actorbase /api/health, a new address each request", ours);
  const markdown = table(rows);
  saveResult(name, { rows, markdown, newCallers: sent, target: "none (informative)" });
}
