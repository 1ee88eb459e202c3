// Realtime fan-out: 100, 500 and 1,000 subscribers on one block receive 10 changes/s for
// `duration` s; delivery latency (write sent → frame received) p50/p95/p99, loss, duplicates and
// order. Then the sustainable delivery rate at 500 subscribers (writes as fast as 8 writers go).
// Both against a naive send-to-every-socket loop (bench/realtime-naive) in the same run.
// Targets: zero loss and duplicates; p99 <= 150 ms at 500; >= 2x the naive loop's deliveries/s.
import { BENCH_VARS, benchToken, saveResult, startActorbase, table } from "../lib.mjs";
import { deliveryStats, drained, sides, startNaive, steadyWrites } from "../realtime-clients.mjs";

export async function run({ name, cleanup, duration }) {
  const actorbase = await startActorbase(cleanup);
  const naive = await startNaive(cleanup);
  const systems = sides(actorbase, naive, BENCH_VARS.SERVICE_KEY, (block) => benchToken(block.split(":")[1]));
  const latencyRows = [];
  // FANOUT_COUNTS=500 and FANOUT_RATE=0 narrow a run while investigating; published figures use the defaults.
  const counts = (process.env.FANOUT_COUNTS ?? "100,500,1000").split(",").map(Number);
  for (const count of counts) {
    for (const key of ["naive", "actorbase"]) {
      const system = systems[key];
      const block = `user:fan${count}${key}${Date.now().toString(36)}`;
      const subscribers = await system.open(block, count);
      const seqs = await steadyWrites(10, duration, () => system.write(block));
      await drained(subscribers.clients, seqs.length);
      const stats = deliveryStats(subscribers.clients, seqs);
      latencyRows.push({
        subscribers: count,
        system: system.label,
        connected: subscribers.clients.length,
        changes: seqs.length,
        deliveries: stats.deliveries,
        "p50 ms": stats.p50,
        "p95 ms": stats.p95,
        "p99 ms": stats.p99,
        lost: stats.lost + subscribers.failures * seqs.length,
        duplicates: stats.duplicates,
        "out of order": stats.outOfOrder,
      });
      await subscribers.close();
    }
  }
  const latency = table(latencyRows);

  const rateRows = [];
  // ABBA between the naive loop and Actorbase, then (for reference, outside the ratio) the naive
  // loop with deflate declined like Actorbase, to separate compression from the rest.
  const rateOrder = process.env.FANOUT_RATE === "0" ? [] : ["naive", "actorbase", "actorbase", "naive", "naivePlain"];
  for (const key of rateOrder) {
    const system = systems[key];
    const block = `user:rate${key}${Date.now().toString(36)}`;
    const subscribers = await system.open(block, 500);
    const started = Date.now();
    const seqs = [];
    const writers = Array.from({ length: 8 }, async () => {
      while (Date.now() - started < duration * 1000) seqs.push(await system.write(block));
    });
    await Promise.all(writers);
    await drained(subscribers.clients, seqs.length, 60_000);
    const lastAt = Math.max(...subscribers.clients.map((c) => c.lastAt));
    const stats = deliveryStats(subscribers.clients, seqs);
    rateRows.push({
      system: system.label,
      subscribers: subscribers.clients.length,
      "writes/s": Math.round(seqs.length / ((lastAt - started) / 1000)),
      "deliveries/s": Math.round(stats.deliveries / ((lastAt - started) / 1000)),
      "p99 ms": stats.p99,
      lost: stats.lost,
      duplicates: stats.duplicates,
    });
    await subscribers.close();
  }
  const mean = (label) => {
    const rows = rateRows.filter((r) => r.system === label);
    return rows.reduce((sum, r) => sum + r["deliveries/s"], 0) / rows.length;
  };
  const ratio = mean(systems.actorbase.label) / mean(systems.naive.label);
  const rate = table(rateRows);
  console.log(`deliveries/s ratio Actorbase / naive (means of ABBA): ${ratio.toFixed(2)}`);
  const plainRatio = rateOrder.includes("naivePlain") ? mean(systems.actorbase.label) / mean(systems.naivePlain.label) : null;
  if (plainRatio !== null) console.log(`deliveries/s ratio Actorbase / naive with deflate declined: ${plainRatio.toFixed(2)}`);
  saveResult(name, {
    latencyRows,
    rateRows,
    ratio,
    plainRatio,
    markdown: `${latency}\n\n${rate}`,
    targets: "lost = duplicates = 0; p99 <= 150 ms at 500; deliveries/s ratio >= 2",
  });
}
