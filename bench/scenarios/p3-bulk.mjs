// P3: bulk insert of 10,000 rows in one batch (POST /api/db/<block>/batch, one transaction with
// 10,000 change-log entries). The shipped demo app caps a write at 1,000 rows, so this scenario
// serves a copy of the app whose only change is `limits: { maxRowsPerWrite: 10000 }`.
// Reports rows/s inside the actor (the write transaction, from the `Server-Timing: db` header),
// end to end (client wall clock), and the bare baseline's 10,000-row transaction end to end.
// Target: at least 100,000 rows/s inside the actor; every row stored.
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, startServer } from "../../scripts/server.mjs";
import { BENCH_VARS, saveResult, startBaseline, table } from "../lib.mjs";

const ROWS = 10_000;
const REPEATS = 5;

export async function run({ name, cleanup }) {
  const app = copyAppWithLimits(cleanup);
  const state = mkdtempSync(join(tmpdir(), "actorbase-bench-"));
  const server = await startServer({ cwd: app, persistTo: state, vars: BENCH_VARS });
  cleanup.push(async () => {
    await server.stop();
    rmSync(state, { recursive: true, force: true });
  });
  const baseline = await startBaseline(cleanup);
  const service = { Authorization: `Bearer ${BENCH_VARS.SERVICE_KEY}`, "Content-Type": "application/json" };
  const tables = {
    notes: {
      block: (i) => `user:bulk${i}`,
      data: (i) => ({ title: `bulk row ${i}`, body: "imported", priority: i % 10, tags: ["bulk"] }),
      what: "notes (index + full-text search)",
    },
    tasks: {
      block: (i) => `workspace:bulk${i}`,
      data: (i) => ({ title: `bulk row ${i}`, status: "todo", points: i % 10 }),
      what: "tasks (plain table)",
    },
  };
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const rows = [];
  const runs = {};
  for (const [table, spec] of Object.entries(tables)) {
    const body = JSON.stringify({ ops: Array.from({ length: ROWS }, (_, i) => ({ op: "insert", table, data: spec.data(i) })) });
    const ours = [];
    for (let i = 0; i < REPEATS + 1; i++) {
      const block = spec.block(i);
      const started = performance.now();
      const response = await fetch(`${server.url}/api/db/${block}/batch`, { method: "POST", headers: service, body });
      const text = await response.text();
      const e2e = performance.now() - started;
      if (response.status !== 200) throw new Error(`batch answered ${response.status}: ${text.slice(0, 300)}`);
      const db = Number(/db;dur=([\d.]+)/.exec(response.headers.get("server-timing") ?? "")?.[1] ?? NaN);
      const stored = await count(server.url, block, table);
      if (stored !== ROWS) throw new Error(`block ${block} holds ${stored} rows, expected ${ROWS}`);
      if (i > 0) ours.push({ db, e2e }); // round 0 warms up
    }
    runs[table] = ours;
    const dbMs = median(ours.map((o) => o.db));
    const e2eMs = median(ours.map((o) => o.e2e));
    rows.push({
      measure: `Actorbase batch into ${spec.what}, inside the actor`,
      "ms (median of 5)": dbMs,
      "rows/s": Math.round((ROWS / dbMs) * 1000),
    });
    rows.push({
      measure: `Actorbase batch into ${spec.what}, end to end`,
      "ms (median of 5)": e2eMs,
      "rows/s": Math.round((ROWS / e2eMs) * 1000),
    });
  }
  const bare = [];
  const rowBody = JSON.stringify(tables.tasks.data(0));
  for (let i = 0; i < REPEATS + 1; i++) {
    const b0 = performance.now();
    const b = await fetch(`${baseline.url}/do-insert-many?key=bulk${i}&n=${ROWS}`, { method: "POST", body: rowBody });
    await b.text();
    if (i > 0) bare.push(performance.now() - b0);
  }
  const bareMs = median(bare);
  rows.push({
    measure: "bare Worker → DO 10,000 INSERTs in one transaction, end to end",
    "ms (median of 5)": bareMs,
    "rows/s": Math.round((ROWS / bareMs) * 1000),
  });
  const markdown = table(rows);
  saveResult(name, { rows, markdown, runs, bare, target: "inside the actor >= 100,000 rows/s; every row stored" });
}

/** A copy of the app in a temp dir with the write cap raised to 10,000 rows (node_modules linked). */
function copyAppWithLimits(cleanup) {
  const dir = mkdtempSync(join(tmpdir(), "actorbase-p3-app-"));
  for (const entry of ["workers", "objects", "shared", "wrangler.toml", "package.json", "tsconfig.json"])
    cpSync(join(ROOT, entry), join(dir, entry), { recursive: true });
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  const config = readFileSync(join(ROOT, "actorbase.config.ts"), "utf8");
  if (!config.includes("export default defineConfig({")) throw new Error("actorbase.config.ts changed shape; update p3-bulk.mjs");
  writeFileSync(
    join(dir, "actorbase.config.ts"),
    config.replace(
      "export default defineConfig({",
      "export default defineConfig({\n  limits: { maxRowsPerWrite: 10_000, maxBodyBytes: 4_194_304 },",
    ),
  );
  cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function count(url, block, table) {
  const response = await fetch(`${url}/api/db/${block}/tables/${table}?limit=1&count=exact&select=id`, {
    headers: { Authorization: `Bearer ${BENCH_VARS.SERVICE_KEY}` },
  });
  return (await response.json()).total;
}
