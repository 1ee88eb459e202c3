// Realtime benchmark plumbing: many raw WebSocket subscribers (the `ws` package) that record, per
// client, which seqs arrived (loss and duplicates) and how long each took (delivery latency).
import { Worker } from "node:worker_threads";
import WebSocket from "ws";
import { benchToken, percentile, startBenchWorker } from "./lib.mjs";

const CHANGE_FRAME = Buffer.from('{"type":"change');
const SEQ = Buffer.from('"seq":');
const SENT_AT = Buffer.from('"body":"');

/** The decimal integer at `at` in a byte buffer (0 when there is none). */
function intAt(bytes, at) {
  let n = 0;
  for (let c = bytes[at]; c >= 0x30 && c <= 0x39; c = bytes[++at]) n = n * 10 + c - 0x30;
  return n;
}

/**
 * Records one delivered seq. Seqs are kept as runs of consecutive seqs (one run when delivery is
 * exact), so 500 subscribers can take hundreds of thousands of changes per second without a map
 * entry each; anything but the next seq starts a new run and is looked at by `deliveryStats`.
 */
function record(client, seq) {
  client.received++;
  const run = client.runs.at(-1);
  if (run && seq === run[1] + 1) {
    run[1] = seq;
  } else {
    if (run && seq <= client.highest) client.outOfOrder++;
    client.runs.push([seq, seq]);
  }
  if (seq > client.highest) client.highest = seq;
}

/**
 * Opens `count` subscribers, `concurrency` at a time. `kind` is "actorbase" (bearer subprotocol,
 * then a subscribe message; `batch` asks for `changes` frames, as the TypeScript client does) or
 * "naive" (the baseline answers `subscribed` on connect). Each client counts `received` changes and
 * `frames` carrying them, and with `latency` records each change's delivery time from the send time
 * its row's body carries. Resolves with { clients, connectMs: [...], failures, close() }.
 */
export async function openSubscribers({ kind, url, token, count, filter = "", batch = false, latency = true, concurrency = 100 }) {
  const clients = [];
  const connectMs = [];
  let failures = 0;
  let next = 0;
  const openOne = () =>
    new Promise((resolve) => {
      const started = Date.now();
      const protocols = kind === "actorbase" ? ["actorbase.v1", `bearer.${token}`] : undefined;
      // Frames are scanned as bytes below; the server sends valid UTF-8 (JSON.stringify).
      const ws = new WebSocket(url, protocols, { skipUTF8Validation: true });
      const client = { ws, runs: [], highest: 0, outOfOrder: 0, latencies: [], received: 0, frames: 0, lastAt: 0 };
      const timer = setTimeout(() => {
        failures++;
        ws.terminate();
        resolve();
      }, 30_000);
      ws.on("message", (data) => {
        if (data.length > CHANGE_FRAME.length && data.compare(CHANGE_FRAME, 0, CHANGE_FRAME.length, 0, CHANGE_FRAME.length) === 0) {
          // Byte scans, no decoding or JSON.parse, so the subscribers cost this shared machine as
          // little as they can. A `changes` frame holds several changes, each with one seq followed
          // by its row's body (rows have no seq column); the body carries the write's send time.
          const now = Date.now();
          for (let at = data.indexOf(SEQ); at !== -1; at = data.indexOf(SEQ, at)) {
            at += SEQ.length;
            record(client, intAt(data, at));
            if (!latency) continue;
            const body = data.indexOf(SENT_AT, at);
            if (body === -1) continue;
            at = body + SENT_AT.length;
            const sentAt = intAt(data, at);
            if (sentAt > 0) client.latencies.push(now - sentAt);
          }
          client.frames++;
          client.lastAt = now;
          return;
        }
        const message = JSON.parse(data.toString());
        if (message.type === "ready")
          ws.send(JSON.stringify({ type: "subscribe", id: "s1", table: "notes", filter, ...(batch ? { batch: true } : {}) }));
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

/**
 * `openSubscribers` on a worker thread (bench/subscriber-thread.mjs). Resolves with { clients
 * (count), failures, connectMs, totals() → { received, frames, lastAt }, stats(expectedSeqs),
 * drained(total, timeoutMs), close() }; every method answers asynchronously.
 */
export async function openSubscribersInThread(options) {
  const worker = new Worker(new URL("./subscriber-thread.mjs", import.meta.url), { workerData: options });
  const waiting = new Map();
  let nextId = 0;
  const opened = await new Promise((resolve, reject) => {
    worker.on("message", (message) => {
      if (message.opened) return resolve(message.opened);
      waiting.get(message.id)?.resolve(message.result);
      waiting.delete(message.id);
    });
    const fail = (err) => {
      reject(err);
      for (const call of waiting.values()) call.reject(err);
      waiting.clear();
    };
    worker.on("error", fail);
    worker.on("exit", () => fail(new Error("the subscriber thread exited")));
  });
  let closed = null;
  const call = (name, ...args) =>
    new Promise((resolve, reject) => {
      if (closed) return reject(new Error("the subscribers are closed"));
      const id = nextId++;
      waiting.set(id, { resolve, reject });
      worker.postMessage({ id, call: name, args });
    });
  return {
    ...opened,
    totals: () => call("totals"),
    stats: (expectedSeqs) => call("stats", expectedSeqs),
    drained: (total, timeoutMs) => call("drained", total, timeoutMs),
    close: () => {
      closed ??= call("close").then(() => worker.terminate());
      return closed;
    },
  };
}

/**
 * The frame modes the write scenarios compare, as `batch` flags: `batch` frames (as the TypeScript
 * client asks), then one `change` frame per change. REALTIME_MODES=batch narrows a run.
 */
export function frameModes() {
  return (process.env.REALTIME_MODES ?? "batch,change").split(",").map((mode) => mode === "batch");
}

/** `count` subscribers of an Actorbase block that only count what arrives, on a thread; closed by `cleanup`. */
export async function countingSubscribers(cleanup, actorbase, block, count, batch) {
  const subscribers = await openSubscribersInThread({
    kind: "actorbase",
    url: `${actorbase.url.replace(/^http/, "ws")}/api/realtime/${block}`,
    token: await benchToken(block.split(":")[1]),
    count,
    batch,
    latency: false,
  });
  cleanup.push(() => subscribers.close());
  return subscribers;
}

/** Loss, duplicates and latency percentiles over clients that should each have seen `expectedSeqs`. */
export function deliveryStats(clients, expectedSeqs) {
  let lost = 0;
  let duplicates = 0;
  let outOfOrder = 0;
  const latencies = [];
  for (const client of clients) {
    for (const seq of expectedSeqs) {
      let times = 0;
      for (const [first, last] of client.runs) if (seq >= first && seq <= last) times++;
      if (times === 0) lost++;
      if (times > 1) duplicates += times - 1;
    }
    outOfOrder += client.outOfOrder;
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
 * The systems under test, behind one interface: open subscribers, write one row. Actorbase's
 * subscribers ask for `batch` frames, as the TypeScript client does. `naive` accepts
 * permessage-deflate as the runtime does by default; `naivePlain` is the same loop declining it,
 * as Actorbase does, to show how much of the difference is compression.
 */
export function sides(actorbase, naive, serviceKey, tokenFor) {
  const wsUrl = (base) => base.replace(/^http/, "ws");
  const naiveSide = (label, query) => ({
    label,
    open: (block, count, options = {}) =>
      openSubscribers({ kind: "naive", url: `${wsUrl(naive.url)}/ws?key=${block}${query}`, count, ...options }),
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
        openSubscribers({
          kind: "actorbase",
          url: `${wsUrl(actorbase.url)}/api/realtime/${block}`,
          token: await tokenFor(block),
          count,
          batch: true,
          ...options,
        }),
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
