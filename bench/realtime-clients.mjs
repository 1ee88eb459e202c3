// Realtime benchmark plumbing: many raw WebSocket subscribers (the `ws` package) that record, per
// client, which seqs arrived (loss and duplicates) and how long each took (delivery latency).
import WebSocket from "ws";
import { percentile, startBenchWorker } from "./lib.mjs";

const SEQ = /"seq":(\d+)/;
const SENT_AT = /"body":"(\d+)"/;

/**
 * Opens `count` subscribers, `concurrency` at a time. `kind` is "actorbase" (bearer subprotocol,
 * then a subscribe message) or "naive" (the baseline answers `subscribed` on connect).
 * Resolves with { clients, connectMs: [...], failures, close() }.
 */
export async function openSubscribers({ kind, url, token, count, filter = "", concurrency = 100 }) {
  const clients = [];
  const connectMs = [];
  let failures = 0;
  let next = 0;
  const openOne = () =>
    new Promise((resolve) => {
      const started = Date.now();
      const protocols = kind === "actorbase" ? ["actorbase.v1", `bearer.${token}`] : undefined;
      const ws = new WebSocket(url, protocols);
      const client = { ws, seen: new Map(), latencies: [], received: 0, lastAt: 0 };
      const timer = setTimeout(() => {
        failures++;
        ws.terminate();
        resolve();
      }, 30_000);
      ws.on("message", (data) => {
        const text = data.toString();
        if (text.startsWith('{"type":"change"')) {
          // Cheap field reads (no JSON.parse) so the load generator is not the bottleneck.
          const now = Date.now();
          const seq = Number(SEQ.exec(text)?.[1]);
          client.received++;
          client.lastAt = now;
          client.seen.set(seq, (client.seen.get(seq) ?? 0) + 1);
          const sentAt = Number(SENT_AT.exec(text)?.[1]);
          if (sentAt > 0) client.latencies.push(now - sentAt);
          return;
        }
        const message = JSON.parse(text);
        if (message.type === "ready") ws.send(JSON.stringify({ type: "subscribe", id: "s1", table: "notes", filter }));
        else if (message.type === "subscribed") {
          clearTimeout(timer);
          connectMs.push(Date.now() - started);
          clients.push(client);
          resolve();
        }
      });
      ws.on("error", () => {
        clearTimeout(timer);
        failures++;
        resolve();
      });
    });
  const workers = Array.from({ length: Math.min(concurrency, count) }, async () => {
    while (next < count) {
      next++;
      await openOne();
    }
  });
  await Promise.all(workers);
  return {
    clients,
    connectMs,
    failures,
    close: async () => {
      for (const client of clients) client.ws.terminate();
      await new Promise((r) => setTimeout(r, 200));
    },
  };
}

/** Loss, duplicates and latency percentiles over clients that should each have seen `expectedSeqs`. */
export function deliveryStats(clients, expectedSeqs) {
  let lost = 0;
  let duplicates = 0;
  let outOfOrder = 0;
  const latencies = [];
  for (const client of clients) {
    for (const seq of expectedSeqs) {
      const times = client.seen.get(seq) ?? 0;
      if (times === 0) lost++;
      if (times > 1) duplicates += times - 1;
    }
    let last = -Infinity;
    for (const seq of client.seen.keys()) {
      if (seq < last) outOfOrder++;
      last = seq;
    }
    for (const ms of client.latencies) latencies.push(ms);
  }
  return {
    deliveries: latencies.length,
    lost,
    duplicates,
    outOfOrder,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
  };
}

/** Waits until every client has received `total` changes, or `timeoutMs` passes. */
export async function drained(clients, total, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (clients.every((c) => c.received >= total)) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return false;
}

/** Calls `write(i)` `rate` times per second for `seconds`, without waiting on each (a steady rate). */
export async function steadyWrites(rate, seconds, write) {
  const total = Math.round(rate * seconds);
  const interval = 1000 / rate;
  const started = Date.now();
  const pending = [];
  for (let i = 0; i < total; i++) {
    const due = started + i * interval;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    pending.push(write(i));
  }
  return Promise.all(pending);
}

/** Starts the naive realtime baseline of bench/realtime-naive (fresh state dir), tracked for cleanup. */
export function startNaive(cleanup) {
  return startBenchWorker(cleanup, "realtime-naive");
}

/**
 * The systems under test, behind one interface: open subscribers, write one row. `naive` accepts
 * permessage-deflate as the runtime does by default; `naivePlain` is the same loop declining it,
 * as Actorbase does, to show how much of the difference is compression.
 */
export function sides(actorbase, naive, serviceKey, tokenFor) {
  const wsUrl = (base) => base.replace(/^http/, "ws");
  const naiveSide = (label, query) => ({
    label,
    open: (block, count, options = {}) => openSubscribers({ kind: "naive", url: `${wsUrl(naive.url)}/ws?key=${block}${query}`, count, ...options }),
    write: async (block) => {
      const response = await fetch(`${naive.url}/publish?key=${block}`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ title: "bench", body: String(Date.now()) }),
      });
      return (await response.json()).seq;
    },
  });
  return {
    actorbase: {
      label: "Actorbase RealtimeDO",
      open: async (block, count, options = {}) =>
        openSubscribers({ kind: "actorbase", url: `${wsUrl(actorbase.url)}/api/realtime/${block}`, token: await tokenFor(block), count, ...options }),
      write: async (block) => {
        const response = await fetch(`${actorbase.url}/api/db/${block}/tables/notes`, {
          method: "POST",
          headers: { Authorization: `Bearer ${serviceKey}`, "Content-Type": "application/json" },
          body: JSON.stringify({ title: "bench", body: String(Date.now()) }),
        });
        await response.arrayBuffer();
        return Number(response.headers.get("X-Seq"));
      },
    },
    naive: naiveSide("naive loop (SQL + stringify per socket)", ""),
    naivePlain: naiveSide("naive loop, deflate declined", "&deflate=0"),
  };
}
