// A storm of 1,000 clients connecting, authenticating (bearer subprotocol) and subscribing to one
// block at once; time from the first connect to the last `subscribed`, per-client p50/p99 and
// failures. Then one change must reach all of them exactly once.
import { BENCH_VARS, benchToken, percentile, saveResult, startActorbase, table } from "../lib.mjs";
import { deliveryStats, drained, openSubscribers } from "../realtime-clients.mjs";

export async function run({ name, cleanup }) {
  const actorbase = await startActorbase(cleanup);
  const rows = [];
  for (const concurrency of [1000, 100]) {
    const block = `user:storm${concurrency}${Date.now().toString(36)}`;
    const started = Date.now();
    const storm = await openSubscribers({
      kind: "actorbase",
      url: `${actorbase.url.replace(/^http/, "ws")}/api/realtime/${block}`,
      token: await benchToken(block.split(":")[1]),
      count: 1000,
      concurrency,
    });
    const elapsed = Date.now() - started;
    const response = await fetch(`${actorbase.url}/api/db/${block}/tables/notes`, {
      method: "POST",
      headers: { Authorization: `Bearer ${BENCH_VARS.SERVICE_KEY}`, "Content-Type": "application/json" },
      body: JSON.stringify({ title: "hello", body: String(Date.now()) }),
    });
    const seq = Number(response.headers.get("X-Seq"));
    await drained(storm.clients, 1);
    const stats = deliveryStats(storm.clients, [seq]);
    rows.push({
      clients: 1000,
      "in flight": concurrency,
      subscribed: storm.clients.length,
      failures: storm.failures,
      "all subscribed ms": elapsed,
      "subscribes/s": Math.round(storm.clients.length / (elapsed / 1000)),
      "p50 ms": percentile(storm.connectMs, 50),
      "p99 ms": percentile(storm.connectMs, 99),
      "change p99 ms": stats.p99,
      lost: stats.lost,
      duplicates: stats.duplicates,
    });
    await storm.close();
  }
  const markdown = table(rows);
  saveResult(name, { rows, markdown });
}
