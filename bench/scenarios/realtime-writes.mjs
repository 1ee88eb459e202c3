// The write path with 500 realtime subscribers attached compared with none: autocannon inserts
// into a block with no sockets and into a block whose 500 sockets subscribe to the table,
// measured none, 500, 500, none (ABBA). Target: at least 80% of the throughput without subscribers.
import { BENCH_VARS, abba, benchToken, load, percentile, saveResult, startActorbase, table } from "../lib.mjs";
import { openSubscribers, steadyWrites } from "../realtime-clients.mjs";

export async function run({ name, cleanup, duration }) {
  const actorbase = await startActorbase(cleanup);
  const quiet = `user:writes${Date.now().toString(36)}`;
  const busy = `user:writes${Date.now().toString(36)}x`;
  const subscribers = await openSubscribers({
    kind: "actorbase",
    url: `${actorbase.url.replace(/^http/, "ws")}/api/realtime/${busy}`,
    token: await benchToken(busy.split(":")[1]),
    count: 500,
  });
  cleanup.push(() => subscribers.close());
  const insert = (block) => () =>
    load({
      url: `${actorbase.url}/api/db/${block}/tables/notes`,
      method: "POST",
      connections: 10,
      duration,
      headers: { Authorization: `Bearer ${BENCH_VARS.SERVICE_KEY}`, "Content-Type": "application/json" },
      body: JSON.stringify({ title: "bench", body: "0" }),
    });
  const [none, attached] = await abba(insert(quiet), insert(busy));
  const received = subscribers.clients.reduce((sum, c) => sum + c.received, 0);
  const rows = [
    { subscribers: 0, "inserts/s": none.rps, "p50 ms": none.p50, "p99 ms": none.p99, errors: none.errors, ratio: "1.00" },
    { subscribers: subscribers.clients.length, "inserts/s": attached.rps, "p50 ms": attached.p50, "p99 ms": attached.p99, errors: attached.errors, ratio: (attached.rps / none.rps).toFixed(2) },
  ];
  const saturated = table(rows);
  console.log(`frames received by the 500 subscribers: ${received.toLocaleString("en-US")}`);

  // At a rate the machine can deliver (10 writes/s = 5,000 frames/s), does a write wait on its delivery?
  const timedWrite = (block) => async () => {
    const started = Date.now();
    const response = await fetch(`${actorbase.url}/api/db/${block}/tables/notes`, {
      method: "POST",
      headers: { Authorization: `Bearer ${BENCH_VARS.SERVICE_KEY}`, "Content-Type": "application/json" },
      body: JSON.stringify({ title: "bench", body: "0" }),
    });
    await response.arrayBuffer();
    return Date.now() - started;
  };
  const steadyRows = [];
  for (const [label, block] of [["0", quiet], ["500", busy], ["500", busy], ["0", quiet]]) {
    const ms = await steadyWrites(10, duration, timedWrite(block));
    steadyRows.push({ subscribers: label, "writes/s offered": 10, "p50 ms": percentile(ms, 50), "p99 ms": percentile(ms, 99) });
  }
  const steady = table(steadyRows);
  saveResult(name, { rows, received, steadyRows, markdown: `${saturated}\n\n${steady}`, target: "ratio >= 0.80" });
}
