// P1: authenticated point read by id (GET /api/db/user:<sub>/tables/notes/<id> with a JWT: auth,
// block parse, rules in the Worker and again on the row inside the DatabaseDO) against the bare
// Worker → DO no-op RPC, at 10 and 50 connections, in the same run, ABBA. Requests cycle through
// BENCH_USERS users, each reading its own note in its own block; the no-op cycles through as many
// actors. Shipped defaults. Target: at least 80% of the bare Worker → DO no-op call.
// A second pair, not a target, shows the floor under it: the bare Worker → DO reading one row by
// primary key (one SQLite SELECT) against the same no-op. Every row has the server's CPU per request.
import { abba, benchUsers, load, pairRows, saveResult, seedNotes, spread, startActorbase, startBaseline, table } from "../lib.mjs";

export async function run({ name, cleanup, duration }) {
  const actorbase = await startActorbase(cleanup);
  const baseline = await startBaseline(cleanup);
  const users = await benchUsers("reader");
  await seedNotes(actorbase, users);
  for (const user of users) {
    const bare = await fetch(`${baseline.url}/do-insert?key=${user.sub}`, { method: "POST", body: "read me by id" });
    if (bare.status !== 201) throw new Error(`setup bare insert answered ${bare.status}`);
    user.barePath = `/do-get?key=${user.sub}&id=${(await bare.json()).id}`;
  }
  const reads = spread(users, (u) => ({ method: "GET", path: u.path, headers: { Authorization: u.auth } }));
  const noops = spread(users, (u) => ({ method: "GET", path: `/do-noop?key=${u.sub}` }));
  const bareReads = spread(users, (u) => ({ method: "GET", path: u.barePath }));
  const rows = [];
  for (const connections of [10, 50]) {
    const noop = () => load({ url: baseline.url, server: baseline, ...noops, connections, duration });
    const [bare, ours] = await abba(noop, () => load({ url: actorbase.url, server: actorbase, ...reads, connections, duration }));
    rows.push(...pairRows(connections, "bare Worker → DO no-op", bare, "Actorbase GET row by id (JWT)", ours));
    const [bareAgain, floor] = await abba(noop, () => load({ url: baseline.url, server: baseline, ...bareReads, connections, duration }));
    rows.push(...pairRows(connections, "bare Worker → DO no-op", bareAgain, "bare Worker → DO SELECT one row by id (the floor)", floor));
  }
  const markdown = table(rows);
  saveResult(name, { rows, markdown, target: "ratio >= 0.80, zero errors (the floor rows are not a target)" });
}
