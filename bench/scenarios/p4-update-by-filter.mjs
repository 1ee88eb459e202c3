// P4: update by filter (PATCH /api/db/<block>/tables/<table>?<filters>) of 1,000 rows against a
// bulk insert of 1,000 rows (POST of an array) into the same table, each in a fresh block,
// alternated A B B A for several rounds so drift on a shared machine hits both sides alike.
// Reports rows/s inside the actor (the write transaction, from the `Server-Timing: db` header)
// and end to end, for the notes table (an index and full-text search, kept by triggers) and the
// plain tasks table. Target: update by filter at least 0.5x the bulk insert rate inside the actor.
import { BENCH_VARS, saveResult, startActorbase, table } from "../lib.mjs";

const ROWS = 1_000;
const ROUNDS = 5;

export async function run({ name, cleanup }) {
  const server = await startActorbase(cleanup);
  const service = { Authorization: `Bearer ${BENCH_VARS.SERVICE_KEY}`, "Content-Type": "application/json" };
  const tables = {
    notes: {
      block: (side, i) => `user:p4${side}${i}`,
      data: (i) => ({ title: `row ${i}`, body: "some words to index", priority: i % 10, tags: ["bulk"] }),
      patch: { priority: { $inc: 1 }, done: true, tags: { $append: "seen" } },
      what: "notes (index + full-text search)",
    },
    tasks: {
      block: (side, i) => `workspace:p4${side}${i}`,
      data: (i) => ({ title: `row ${i}`, status: "todo", points: i % 10 }),
      patch: { status: "doing", points: { $inc: 1 } },
      what: "tasks (plain table)",
    },
  };
  const send = async (method, path, body) => {
    const started = performance.now();
    const response = await fetch(`${server.url}${path}`, { method, headers: service, body: JSON.stringify(body) });
    const text = await response.text();
    const e2e = performance.now() - started;
    if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${text.slice(0, 300)}`);
    const db = Number(/db;dur=([\d.]+)/.exec(response.headers.get("server-timing") ?? "")?.[1] ?? Number.NaN);
    return { db, e2e, body: JSON.parse(text) };
  };
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const rows = [];
  const runs = {};
  let block = 0;
  for (const [tableName, spec] of Object.entries(tables)) {
    const items = Array.from({ length: ROWS }, (_, i) => spec.data(i));
    const insert = async () => {
      const path = `/api/db/${spec.block("i", block++)}/tables/${tableName}`;
      const { db, e2e, body } = await send("POST", path, items);
      if (body.items.length !== ROWS) throw new Error(`insert stored ${body.items.length} rows`);
      return { db, e2e };
    };
    const update = async () => {
      const path = `/api/db/${spec.block("u", block++)}/tables/${tableName}`;
      await send("POST", path, items); // the rows to update, untimed
      const { db, e2e, body } = await send("PATCH", `${path}?id=not.is.null`, spec.patch);
      if (body.count !== ROWS) throw new Error(`update by filter changed ${body.count} rows`);
      return { db, e2e };
    };
    // Warm up both code paths once; every timed call then writes a block of its own.
    await insert();
    await update();
    const a = [];
    const b = [];
    for (let round = 0; round < ROUNDS; round++) {
      a.push(await insert());
      b.push(await update());
      b.push(await update());
      a.push(await insert());
    }
    runs[tableName] = { insert: a, update: b };
    const insertMs = median(a.map((r) => r.db));
    const updateMs = median(b.map((r) => r.db));
    const rate = (ms) => Math.round((ROWS / ms) * 1000);
    rows.push(
      { measure: `bulk insert of 1,000 ${spec.what}, inside the actor`, "ms (median)": insertMs, "rows/s": rate(insertMs), ratio: "1.00" },
      {
        measure: `update by filter of 1,000 ${spec.what}, inside the actor`,
        "ms (median)": updateMs,
        "rows/s": rate(updateMs),
        ratio: (insertMs / updateMs).toFixed(2),
      },
      {
        measure: `bulk insert of 1,000 ${spec.what}, end to end`,
        "ms (median)": median(a.map((r) => r.e2e)),
        "rows/s": rate(median(a.map((r) => r.e2e))),
        ratio: "1.00",
      },
      {
        measure: `update by filter of 1,000 ${spec.what}, end to end`,
        "ms (median)": median(b.map((r) => r.e2e)),
        "rows/s": rate(median(b.map((r) => r.e2e))),
        ratio: (median(a.map((r) => r.e2e)) / median(b.map((r) => r.e2e))).toFixed(2),
      },
    );
  }
  const markdown = table(rows);
  saveResult(name, {
    rows,
    markdown,
    runs,
    rounds: ROUNDS,
    order: "A B B A per round (A bulk insert, B update by filter), medians of 10 each",
    target: "update by filter inside the actor >= 0.5x the bulk insert rate",
  });
}
