// The write path with 500 realtime subscribers attached compared with none: autocannon inserts
// into a block with no sockets and into a block whose 500 sockets subscribe to the table,
// measured none, 500, 500, none (ABBA), three rounds of half-length runs. Twice: subscribers that ask for `batch` (as the TypeScript
// client does), then subscribers that take one `change` frame per change (the protocol's default).
// The subscribers run on their own thread; after each half every one of them must have received
// every change of the block exactly once. Target: at least 80% of the throughput without subscribers.
import { BENCH_VARS, abba, load, percentile, saveResult, startActorbase, table } from "../lib.mjs";
import { countingSubscribers, frameModes, steadyWrites } from "../realtime-clients.mjs";

const SUBSCRIBERS = 500;
const SERVICE = { Authorization: `Bearer ${BENCH_VARS.SERVICE_KEY}`, "Content-Type": "application/json" };

export async function run({ name, cleanup, duration }) {
  const actorbase = await startActorbase(cleanup);
  const quiet = `user:writes${Date.now().toString(36)}`;
  // Three ABBA rounds of half-length runs (see abba in lib.mjs): 30 s of each side by default.
  const half = Math.max(3, Math.round(duration / 2));
  const insert = (block) => () =>
    load({
      url: `${actorbase.url}/api/db/${block}/tables/notes`,
      method: "POST",
      connections: 10,
      duration: half,
      headers: SERVICE,
      body: JSON.stringify({ title: "bench", body: "0" }),
    });
  // At a rate the machine can deliver (10 writes/s = 5,000 change deliveries/s), does a write wait on its delivery?
  const timedWrite = (block) => async () => {
    const started = Date.now();
    const response = await fetch(`${actorbase.url}/api/db/${block}/tables/notes`, {
      method: "POST",
      headers: SERVICE,
      body: JSON.stringify({ title: "bench", body: "0" }),
    });
    await response.arrayBuffer();
    return Date.now() - started;
  };
  const blockSeq = async (block) => {
    const response = await fetch(`${actorbase.url}/api/db/${block}/tables/notes?limit=1`, { headers: SERVICE });
    return (await response.json()).seq;
  };

  const rows = [];
  const steadyRows = [];
  const checks = [];
  for (const batch of frameModes()) {
    const mode = batch ? "batch" : "change";
    const busy = `${quiet}${mode}`;
    const subscribers = await countingSubscribers(cleanup, actorbase, busy, SUBSCRIBERS, batch);
    const [none, attached] = await abba(insert(quiet), insert(busy), 3);
    rows.push(
      { frames: mode, subscribers: 0, "inserts/s": none.rps, "p50 ms": none.p50, "p99 ms": none.p99, errors: none.errors, ratio: "1.00" },
      {
        frames: mode,
        subscribers: subscribers.clients,
        "inserts/s": attached.rps,
        "p50 ms": attached.p50,
        "p99 ms": attached.p99,
        errors: attached.errors,
        ratio: (attached.rps / none.rps).toFixed(2),
      },
    );
    for (const [label, block] of process.env.REALTIME_STEADY === "0"
      ? []
      : [
          ["0", quiet],
          [String(SUBSCRIBERS), busy],
          [String(SUBSCRIBERS), busy],
          ["0", quiet],
        ]) {
      const ms = await steadyWrites(10, duration, timedWrite(block));
      steadyRows.push({
        frames: mode,
        subscribers: label,
        "writes/s offered": 10,
        "p50 ms": percentile(ms, 50),
        "p99 ms": percentile(ms, 99),
      });
    }
    // Every subscriber must hold every change of the block, once.
    const last = await blockSeq(busy);
    const complete = await subscribers.drained(last, 120_000);
    const stats = await subscribers.stats(Array.from({ length: last }, (_, i) => i + 1));
    const { received, frames } = await subscribers.totals();
    checks.push({
      frames: mode,
      subscribers: subscribers.clients,
      changes: last,
      "changes received": received,
      "frames received": frames,
      "changes per frame": (received / frames).toFixed(1),
      drained: complete,
      lost: stats.lost + subscribers.failures * last,
      duplicates: stats.duplicates,
      "out of order": stats.outOfOrder,
    });
    await subscribers.close();
  }
  const markdown = [table(rows), table(checks), table(steadyRows)].join("\n\n");
  saveResult(name, { rows, checks, steadyRows, markdown, target: "ratio >= 0.80 (batch frames, as the client asks)" });
}
