// P2: authenticated single-row insert with the change log (POST /api/db/<block>/tables/<table>
// with a JWT: validation, rules, row + change-log entry in one transaction, realtime hand-off)
// against the bare Worker → DO RPC committing one SQLite INSERT, at 10 and 50 connections, ABBA.
// Requests cycle through BENCH_USERS users, each writing to its own block (the bare side cycles
// through as many actors); shipped defaults. After every measured run, every acknowledged row must
// be there. Target: at least 70% of the bare Worker → DO single INSERT; zero errors; no row lost.
import { BENCH_VARS, abba, benchUsers, load, pairRows, saveResult, spread, startActorbase, startBaseline, table } from "../lib.mjs";

const BODY = JSON.stringify({ title: "bench row", body: "a small note", priority: 1, tags: ["bench"] });
// The same write into a plain table (no secondary index, no full-text index), to show what those cost.
const TASK = JSON.stringify({ title: "bench row", status: "todo", points: 1 });

export async function run({ name, cleanup, duration }) {
  const actorbase = await startActorbase(cleanup);
  const baseline = await startBaseline(cleanup);
  const users = await benchUsers("writer", undefined, (sub) => ({ workspaces: [sub] }));
  const targets = {
    notes: { body: BODY, block: (u) => `user:${u.sub}` },
    tasks: { body: TASK, block: (u) => `workspace:${u.sub}` },
  };
  const writes = (table) =>
    spread(users, (u) => ({
      method: "POST",
      path: `/api/db/${targets[table].block(u)}/tables/${table}`,
      body: targets[table].body,
      headers: { "Content-Type": "application/json", Authorization: u.auth },
    }));
  const inserts = spread(users, (u) => ({
    method: "POST",
    path: `/do-insert?key=${u.sub}`,
    body: BODY,
    headers: { "Content-Type": "application/json" },
  }));
  const runs = [];
  let n = 0;
  const ours = (connections, table) => async () => {
    const before = await countAll(actorbase.url, users, targets[table].block, table);
    const result = await load({ url: actorbase.url, server: actorbase, ...writes(table), connections, duration, warmup: 0 });
    const after = await countAll(actorbase.url, users, targets[table].block, table);
    runs.push({
      run: ++n,
      table,
      connections,
      acknowledged: result.total - result.non2xx,
      stored: after - before,
      non2xx: result.non2xx,
      errors: result.errors,
    });
    return result;
  };
  const bare = (connections) => () => load({ url: baseline.url, server: baseline, ...inserts, connections, duration, warmup: 0 });
  // Warm both servers (actor creation, table creation, JIT) outside the measured runs.
  await load({ url: baseline.url, ...inserts, connections: 10, duration: 2, warmup: 0 });
  await load({ url: actorbase.url, ...writes("notes"), connections: 10, duration: 2, warmup: 0 });
  await load({ url: actorbase.url, ...writes("tasks"), connections: 10, duration: 2, warmup: 0 });
  const rows = [];
  for (const connections of [10, 50]) {
    for (const [table, label] of [
      ["notes", "notes: index + FTS"],
      ["tasks", "tasks: plain table"],
    ]) {
      const [b, o] = await abba(bare(connections), ours(connections, table));
      rows.push(...pairRows(connections, "bare Worker → DO single INSERT", b, `Actorbase POST one row (JWT, change log; ${label})`, o));
    }
  }
  const markdown = table(rows);
  console.log("Acknowledged vs stored rows per measured run:");
  table(runs);
  const lost = runs.filter((r) => r.stored < r.acknowledged);
  if (lost.length > 0) console.error(`LOST ROWS in runs ${lost.map((r) => r.run).join(", ")}`);
  saveResult(name, { rows, runs, markdown, lostRows: lost.length > 0, target: "ratio >= 0.70, zero errors, stored >= acknowledged" });
}

/** The exact row count of one table across every user's block, read with the service key. */
async function countAll(url, users, block, table) {
  let total = 0;
  for (let i = 0; i < users.length; i += 20) {
    const counts = await Promise.all(users.slice(i, i + 20).map((u) => count(url, block(u), table)));
    total += counts.reduce((a, b) => a + b, 0);
  }
  return total;
}

async function count(url, block, table) {
  const response = await fetch(`${url}/api/db/${block}/tables/${table}?limit=1&count=exact&select=id`, {
    headers: { Authorization: `Bearer ${BENCH_VARS.SERVICE_KEY}` },
  });
  if (response.status !== 200) throw new Error(`count answered ${response.status}: ${await response.text()}`);
  return (await response.json()).total;
}
