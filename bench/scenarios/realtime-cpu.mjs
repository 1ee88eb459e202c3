// Where the CPU goes when 500 subscribers watch a block that takes inserts as fast as they come
// (the saturated half of realtime-writes): CPU per process from /proc while autocannon inserts
// into a block with no sockets and into one whose 500 sockets subscribe to the table. `wrangler
// dev` runs two workerd processes: a proxy on the public port that relays every request and every
// frame, and the runtime with the Worker and the actors. From the quiet run's CPU per insert and
// the busy run's frames it derives the CPU one delivered frame costs this machine, all processes
// included, and how many cores keeping 80% of the quiet insert rate with every frame delivered
// would take.
import { cpus } from "node:os";
import { BENCH_VARS, groupCpu, load, saveResult, startActorbase, table } from "../lib.mjs";
import { countingSubscribers, frameModes } from "../realtime-clients.mjs";

const SUBSCRIBERS = 500;

/** CPU seconds so far by role: the runtime, the dev proxy, the rest of wrangler, and this process (load and the subscribers' thread). */
function cpuByRole(server) {
  const roles = { runtime: 0, proxy: 0, wrangler: 0, bench: 0 };
  for (const p of groupCpu(server.child.pid)) {
    const role = !p.command.includes("workerd") ? "wrangler" : p.command.includes(`entry=127.0.0.1:${server.port} `) ? "proxy" : "runtime";
    roles[role] += p.user + p.system;
  }
  const own = process.cpuUsage();
  roles.bench = (own.user + own.system) / 1e6;
  return roles;
}

export async function run({ name, cleanup, duration }) {
  const actorbase = await startActorbase(cleanup);
  const quiet = `user:cpu${Date.now().toString(36)}`;
  const fixed = (n) => n.toFixed(2);
  const rows = [];
  const derivedRows = [];
  for (const batch of frameModes()) {
    const mode = batch ? "batch" : "change";
    const busy = `${quiet}${mode}`;
    const subscribers = await countingSubscribers(cleanup, actorbase, busy, SUBSCRIBERS, batch);
    /** Waits until the subscribers have received everything (no frame for half a second), so a run's backlog is not counted in the next. */
    const settle = async () => {
      for (let last = -1; last !== (await subscribers.totals()).received; ) {
        last = (await subscribers.totals()).received;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    };
    const measure = async (block, label) => {
      const insert = () =>
        load({
          url: `${actorbase.url}/api/db/${block}/tables/notes`,
          method: "POST",
          connections: 10,
          duration,
          warmup: 0,
          headers: { Authorization: `Bearer ${BENCH_VARS.SERVICE_KEY}`, "Content-Type": "application/json" },
          body: JSON.stringify({ title: "bench", body: "0" }),
        });
      const before = cpuByRole(actorbase);
      const totalsBefore = await subscribers.totals();
      const started = Date.now();
      const result = await insert();
      const seconds = (Date.now() - started) / 1000;
      const after = cpuByRole(actorbase);
      const totalsAfter = await subscribers.totals();
      await settle();
      const cores = Object.fromEntries(Object.keys(after).map((role) => [role, (after[role] - before[role]) / seconds]));
      const total = Object.values(cores).reduce((a, b) => a + b, 0);
      return {
        label,
        rps: result.rps,
        framesPerSecond: (totalsAfter.frames - totalsBefore.frames) / seconds,
        changesPerSecond: (totalsAfter.received - totalsBefore.received) / seconds,
        cores,
        total,
      };
    };
    const runs = [
      await measure(quiet, "0"),
      await measure(busy, String(SUBSCRIBERS)),
      await measure(busy, String(SUBSCRIBERS)),
      await measure(quiet, "0"),
    ];
    await subscribers.close();
    const mean = (label, pick) => runs.filter((r) => r.label === label).reduce((sum, r) => sum + pick(r), 0) / 2;
    const cpuPerInsert = mean("0", (r) => r.total / r.rps);
    const busyTotal = mean(String(SUBSCRIBERS), (r) => r.total);
    const busyRps = mean(String(SUBSCRIBERS), (r) => r.rps);
    const perDelivery = (busyTotal - busyRps * cpuPerInsert) / mean(String(SUBSCRIBERS), (r) => r.changesPerSecond);
    const keep = 0.8 * mean("0", (r) => r.rps);
    for (const r of runs) {
      rows.push({
        frames: mode,
        subscribers: r.label,
        "inserts/s": r.rps,
        "changes delivered/s": Math.round(r.changesPerSecond).toLocaleString("en-US"),
        "frames/s": Math.round(r.framesPerSecond).toLocaleString("en-US"),
        "runtime cores": fixed(r.cores.runtime),
        "dev proxy cores": fixed(r.cores.proxy),
        "wrangler cores": fixed(r.cores.wrangler),
        "bench process cores": fixed(r.cores.bench),
        "total cores": fixed(r.total),
      });
    }
    derivedRows.push(
      { frames: mode, measure: "CPU per insert, no subscribers (µs)", value: Math.round(cpuPerInsert * 1e6) },
      { frames: mode, measure: "CPU per delivered change, all processes (µs)", value: fixed(perDelivery * 1e6) },
      {
        frames: mode,
        measure: "cores to keep 80% of inserts with every change delivered",
        value: fixed(keep * cpuPerInsert + keep * SUBSCRIBERS * perDelivery),
      },
    );
  }
  derivedRows.push({ frames: "", measure: "cores on this machine", value: cpus().length });
  const markdown = `${table(rows)}\n\n${table(derivedRows)}`;
  saveResult(name, { rows, derived: derivedRows, markdown });
}
