// Soak: mixed load for a long time (10 minutes unless --duration says otherwise) against one server:
// CRUD loops over many tenant blocks, one realtime subscriber per block (resuming with `since` if
// its socket drops), rate-limit decisions over many keys, and decisions on fresh keys (a new set of
// 1,000 every 10 s, as a limit per client IP sees them). Every 10 s it samples throughput,
// errors and the resident memory of the server's workerd process (from /proc). It reports errors,
// lost or repeated changes, throughput drift and memory growth after warm-up, and the memory 30 s
// after the load stops.
// Targets: zero errors, zero lost or repeated changes, memory growth under 10% after warm-up.
import WebSocket from "ws";
import { BENCH_VARS, benchToken, inspector, saveResult, startActorbase, table, workerdStats } from "../lib.mjs";

/** Ten minutes unless `--duration <seconds>` is given (bench/run.mjs reads this). */
export const defaultDuration = 600;

// The mix; each can be changed (or set to 0) from the environment to find what drives a drift.
const TENANTS = Number(process.env.SOAK_TENANTS ?? 20);
const CRUD_LOOPS = Number(process.env.SOAK_CRUD_LOOPS ?? 8);
const RATE_LIMIT_LOOPS = Number(process.env.SOAK_RATE_LIMIT_LOOPS ?? 2);
const CHURN_LOOPS = Number(process.env.SOAK_CHURN_LOOPS ?? 2);
const SUBSCRIBE = process.env.SOAK_SUBSCRIBE !== "0";
/**
 * SOAK_HEAP=1 (npm start only): each sample also collects the isolate's garbage and reads its JS
 * heap through the inspector, to tell the Worker's and actors' objects from the runtime's native memory.
 */
const HEAP = process.env.SOAK_HEAP === "1";
const RATE_LIMIT_KEYS = 200;
const WINDOW_MS = 10_000;
const SERVICE = { Authorization: `Bearer ${BENCH_VARS.SERVICE_KEY}`, "Content-Type": "application/json" };

/** A block subscriber that resumes with `since` after a drop and checks seq continuity. */
function subscriber(url, block, token, stats) {
  const state = { lastSeq: null, received: 0, gaps: 0, duplicates: 0, reconnects: 0, closed: false, ws: null };
  const open = () => {
    const ws = new WebSocket(`${url.replace(/^http/, "ws")}/api/realtime/${block}`, ["actorbase.v1", `bearer.${token}`]);
    state.ws = ws;
    ws.on("message", (data) => {
      const message = JSON.parse(String(data));
      if (message.type === "ready") {
        ws.send(
          JSON.stringify({ type: "subscribe", id: "s", table: "notes", ...(state.lastSeq === null ? {} : { since: state.lastSeq }) }),
        );
      } else if (message.type === "subscribed") {
        if (state.lastSeq === null) state.lastSeq = message.seq;
      } else if (message.type === "change") {
        if (state.lastSeq !== null && message.seq <= state.lastSeq) state.duplicates++;
        else {
          if (state.lastSeq !== null && message.seq !== state.lastSeq + 1) state.gaps += message.seq - state.lastSeq - 1;
          state.lastSeq = message.seq;
          state.received++;
          stats.deliveries++;
        }
      } else if (message.type === "error" || message.type === "reset") {
        stats.errors.push(`${block} socket: ${JSON.stringify(message)}`);
      }
    });
    ws.on("error", () => {});
    ws.on("close", (code) => {
      if (state.closed) return;
      state.reconnects++;
      stats.errors.push(`${block} socket closed with ${code}`);
      setTimeout(open, 200);
    });
  };
  open();
  return state;
}

async function expectOk(response, what, stats) {
  if (response.status >= 200 && response.status < 300) {
    await response.arrayBuffer();
    return true;
  }
  stats.errors.push(`${what}: ${response.status} ${(await response.text()).slice(0, 200)}`);
  return false;
}

async function crudLoop(url, tenants, loop, stats, running) {
  for (let n = 0; running(); n++) {
    const tenant = tenants[(loop + n * CRUD_LOOPS) % tenants.length];
    const base = `${url}/api/db/${tenant.block}/tables/notes`;
    const id = `l${loop}-${n}`;
    try {
      if (
        !(await expectOk(
          await fetch(base, {
            method: "POST",
            headers: tenant.headers,
            body: JSON.stringify({ id, title: `soak ${id}`, tags: ["soak"], priority: n % 5 }),
          }),
          "insert",
          stats,
        ))
      )
        continue;
      tenant.writes++;
      stats.ops++;
      await expectOk(await fetch(`${base}/${id}`, { headers: tenant.headers }), "get", stats);
      stats.ops++;
      if (
        await expectOk(
          await fetch(`${base}/${id}`, {
            method: "PATCH",
            headers: tenant.headers,
            body: JSON.stringify({ priority: { $inc: 1 }, done: true }),
          }),
          "update",
          stats,
        )
      )
        tenant.writes++;
      stats.ops++;
      await expectOk(
        await fetch(`${base}?done=eq.true&priority=gte.2&order=priority.desc&limit=20`, { headers: tenant.headers }),
        "list",
        stats,
      );
      stats.ops++;
      if (await expectOk(await fetch(`${base}/${id}`, { method: "DELETE", headers: tenant.headers }), "delete", stats)) tenant.writes++;
      stats.ops++;
    } catch (err) {
      stats.errors.push(`crud: ${err.message}`);
    }
  }
}

async function rateLimitLoop(url, loop, stats, running) {
  for (let n = 0; running(); n++) {
    const key = `soak:${(loop * 7919 + n) % RATE_LIMIT_KEYS}`;
    try {
      const response = await fetch(`${url}/api/ratelimit/${key}`, {
        method: "POST",
        headers: SERVICE,
        body: JSON.stringify({ limit: 50, periodMs: 1_000, algorithm: n % 2 ? "gcra" : "sliding_window" }),
      });
      if (await expectOk(response, "ratelimit", stats)) stats.decisions++;
    } catch (err) {
      stats.errors.push(`ratelimit: ${err.message}`);
    }
  }
}

/** Decisions on fresh keys: a new set of 1,000 keys every window. */
async function churnLoop(url, stats, running) {
  const started = Date.now();
  while (running()) {
    const key = `churn-${Math.floor((Date.now() - started) / WINDOW_MS)}-${Math.floor(Math.random() * 1_000)}`;
    try {
      const response = await fetch(`${url}/api/ratelimit/${key}`, {
        method: "POST",
        headers: SERVICE,
        body: JSON.stringify({ limit: 1_000, periodMs: 60_000 }),
      });
      if (await expectOk(response, "fresh-key decision", stats)) stats.freshDecisions++;
    } catch (err) {
      stats.errors.push(`fresh-key decision: ${err.message}`);
    }
  }
}

export async function run({ name, cleanup, duration }) {
  // SOAK_RATE_LIMIT_PLATFORM overrides the platform limiter (`off`, `<limit>/<periodMs>`) to isolate its part.
  if (HEAP) process.env.ACTORBASE_INSPECT = "1";
  const server = await startActorbase(
    cleanup,
    process.env.SOAK_RATE_LIMIT_PLATFORM ? { RATE_LIMIT_PLATFORM: process.env.SOAK_RATE_LIMIT_PLATFORM } : {},
  );
  const tenants = [];
  for (let i = 0; i < TENANTS; i++) {
    const sub = `soak${i}`;
    const token = await benchToken(sub, {}, Math.max(3600, duration * 2));
    tenants.push({
      block: `user:${sub}`,
      token,
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      writes: 0,
    });
  }
  const heap = HEAP ? await inspector(server.inspectorPort) : null;
  // null when the inspector gave no answer: a diagnostic must not stop the soak.
  const heapMiB = async () => {
    try {
      await heap.send("HeapProfiler.collectGarbage");
      const { result } = await heap.send("Runtime.getHeapUsage");
      return Math.round((result.usedSize / 2 ** 20) * 10) / 10;
    } catch {
      return null;
    }
  };
  const stats = { ops: 0, decisions: 0, freshDecisions: 0, deliveries: 0, errors: [] };
  const subscribers = SUBSCRIBE ? tenants.map((t) => subscriber(server.url, t.block, t.token, stats)) : [];
  await new Promise((r) => setTimeout(r, 1_000));

  const endAt = Date.now() + duration * 1000;
  const running = () => Date.now() < endAt;
  const loops = [
    ...Array.from({ length: CRUD_LOOPS }, (_, i) => crudLoop(server.url, tenants, i, stats, running)),
    ...Array.from({ length: RATE_LIMIT_LOOPS }, (_, i) => rateLimitLoop(server.url, i, stats, running)),
    ...Array.from({ length: CHURN_LOOPS }, () => churnLoop(server.url, stats, running)),
  ];
  const windows = [];
  const startedAt = Date.now();
  let last = { ops: 0, decisions: 0, freshDecisions: 0, deliveries: 0, errors: 0, at: startedAt };
  const sampler = setInterval(
    async () => {
      const now = Date.now();
      const seconds = (now - last.at) / 1000;
      const workerd = workerdStats(server.child.pid);
      const sample = {
        "t (s)": Math.round((now - startedAt) / 1000),
        "CRUD ops/s": Math.round((stats.ops - last.ops) / seconds),
        "rate-limit decisions/s": Math.round((stats.decisions - last.decisions) / seconds),
        "fresh-key decisions/s": Math.round((stats.freshDecisions - last.freshDecisions) / seconds),
        "changes delivered/s": Math.round((stats.deliveries - last.deliveries) / seconds),
        errors: stats.errors.length - last.errors,
        "workerd RSS MiB": Math.round(workerd.rssMiB * 10) / 10,
        "open files": workerd.openFiles,
      };
      windows.push(sample);
      last = {
        ops: stats.ops,
        decisions: stats.decisions,
        freshDecisions: stats.freshDecisions,
        deliveries: stats.deliveries,
        errors: stats.errors.length,
        at: now,
      };
      if (heap) sample["JS heap MiB (after GC)"] = await heapMiB();
      console.log(JSON.stringify(sample));
    },
    Math.min(WINDOW_MS, Math.max(1_000, (duration * 1000) / 6)),
  );
  await Promise.all(loops);
  clearInterval(sampler);

  // Let the last changes arrive, then compare what each subscriber got with the writes acknowledged.
  const settleUntil = Date.now() + 10_000;
  while (Date.now() < settleUntil && subscribers.some((s, i) => s.received < tenants[i].writes))
    await new Promise((r) => setTimeout(r, 100));
  for (const s of subscribers) {
    s.closed = true;
    s.ws?.close(1000);
  }
  // Then nothing for 30 s: the runtime lets idle actors go after about 10 s, and what they held
  // (their SQLite caches among it) with them. What stays is the process's own.
  await new Promise((r) => setTimeout(r, 30_000));
  const idle = workerdStats(server.child.pid);
  const idleHeap = heap ? await heapMiB() : null;
  heap?.close();
  const lost = !SUBSCRIBE ? 0 : subscribers.reduce((sum, s, i) => sum + Math.max(0, tenants[i].writes - s.received) + s.gaps, 0);
  const duplicates = subscribers.reduce((sum, s) => sum + s.duplicates, 0);

  // Warm-up: the first minute, or the first fifth of a short run.
  const warmupS = Math.min(60, duration / 5);
  const steady = windows.filter((w) => w["t (s)"] > warmupS);
  const first = steady[0] ?? windows[0];
  const final = steady.at(-1) ?? windows.at(-1);
  // Drift compares the mean throughput of the first and last thirds after warm-up (single windows are noisy).
  const third = Math.max(1, Math.floor(steady.length / 3));
  const mean = (ws) => ws.reduce((sum, w) => sum + w["CRUD ops/s"], 0) / Math.max(1, ws.length);
  const early = mean(steady.slice(0, third));
  const drift = steady.length > 0 ? (mean(steady.slice(-third)) - early) / Math.max(1, early) : 0;
  const growth = first && final ? (final["workerd RSS MiB"] - first["workerd RSS MiB"]) / Math.max(1, first["workerd RSS MiB"]) : 0;
  const peak = Math.max(...windows.map((w) => w["workerd RSS MiB"]));
  const summary = {
    "duration s": duration,
    "CRUD ops": stats.ops,
    "rate-limit decisions": stats.decisions,
    "fresh-key decisions": stats.freshDecisions,
    "changes delivered": stats.deliveries,
    errors: stats.errors.length,
    "lost changes": lost,
    "repeated changes": duplicates,
    "throughput drift": `${(drift * 100).toFixed(1)}%`,
    "RSS after warm-up MiB": first?.["workerd RSS MiB"] ?? 0,
    "RSS at end MiB": final?.["workerd RSS MiB"] ?? 0,
    "peak RSS MiB": peak,
    "memory growth": `${(growth * 100).toFixed(1)}%`,
    "RSS 30 s after the load MiB": Math.round(idle.rssMiB * 10) / 10,
    "open files 30 s after the load": idle.openFiles,
  };
  if (HEAP) {
    summary["JS heap after warm-up MiB"] = first?.["JS heap MiB (after GC)"] ?? 0;
    summary["JS heap at end MiB"] = final?.["JS heap MiB (after GC)"] ?? 0;
    summary["JS heap 30 s after the load MiB"] = idleHeap;
  }
  console.log("\nOver time:");
  const overTime = table(windows);
  console.log("Summary:");
  const markdown = table([summary]);
  if (stats.errors.length > 0) console.log(`First errors:\n${stats.errors.slice(0, 10).join("\n")}`);
  const met = stats.errors.length === 0 && lost === 0 && duplicates === 0 && growth < 0.1;
  console.log(
    met ? "Targets met: zero errors, no lost or repeated change, memory growth under 10%." : "TARGETS MISSED: see the summary above.",
  );
  saveResult(name, {
    summary,
    windows,
    markdown,
    overTime,
    errors: stats.errors.slice(0, 50),
    target: "zero errors, zero lost/repeated changes, memory growth < 10% after warm-up",
    met,
  });
}
