// P1: authenticated point read by id (GET /api/db/user:<sub>/tables/notes/<id> with a JWT: auth,
// block parse, rules in the Worker and again on the row inside the DatabaseDO) against the bare
// Worker → DO no-op RPC, at 10 and 50 connections, in the same run, ABBA. Requests cycle through
// BENCH_USERS users, each reading its own note in its own block; the no-op cycles through as many
// actors. Shipped defaults. Target: at least 80% of the bare Worker → DO no-op call.
import { abba, benchUsers, load, pairRows, saveResult, spread, startActorbase, startBaseline, table } from "../lib.mjs";

export async function run({ name, cleanup, duration }) {
  const actorbase = await startActorbase(cleanup);
  const baseline = await startBaseline(cleanup);
  const users = await benchUsers("reader");
  for (const user of users) {
    const created = await fetch(`${actorbase.url}/api/db/user:${user.sub}/tables/notes`, {
      method: "POST",
      headers: { Authorization: user.auth, "Content-Type": "application/json" },
      body: JSON.stringify({ title: "benchmark note", body: "read me by id", priority: 3, tags: ["bench"] }),
    });
    if (created.status !== 201) throw new Error(`setup insert answered ${created.status}: ${await created.text()}`);
    user.path = `/api/db/user:${user.sub}/tables/notes/${(await created.json()).id}`;
  }
  const reads = spread(users, (u) => ({ method: "GET", path: u.path, headers: { Authorization: u.auth } }));
  const noops = spread(users, (u) => ({ method: "GET", path: `/do-noop?key=${u.sub}` }));
  const rows = [];
  for (const connections of [10, 50]) {
    const [bare, ours] = await abba(
      () => load({ url: baseline.url, ...noops, connections, duration }),
      () => load({ url: actorbase.url, ...reads, connections, duration }),
    );
    rows.push(...pairRows(connections, "bare Worker → DO no-op", bare, "Actorbase GET row by id (JWT)", ours));
  }
  const markdown = table(rows);
  saveResult(name, { rows, markdown, target: "ratio >= 0.80, zero errors" });
}
