// Runs `openSubscribers` on its own thread, so the subscribers' frame handling does not share an
// event loop with the load generator of the same scenario (on a real deployment they are different
// machines; here they still share the CPU, which the figures include). Driven by
// `openSubscribersInThread` in realtime-clients.mjs.
import { parentPort, workerData } from "node:worker_threads";
import { deliveryStats, drained, openSubscribers } from "./realtime-clients.mjs";

const subscribers = await openSubscribers(workerData);
const totals = () => ({
  received: subscribers.clients.reduce((sum, c) => sum + c.received, 0),
  frames: subscribers.clients.reduce((sum, c) => sum + c.frames, 0),
  lastAt: Math.max(0, ...subscribers.clients.map((c) => c.lastAt)),
});
const calls = {
  totals,
  stats: (expectedSeqs) => deliveryStats(subscribers.clients, expectedSeqs),
  drained: (total, timeoutMs) => drained(subscribers.clients, total, timeoutMs),
  close: () => subscribers.close(),
};
parentPort.on("message", async ({ id, call, args }) => {
  parentPort.postMessage({ id, result: await calls[call](...args) });
});
parentPort.postMessage({
  opened: { clients: subscribers.clients.length, failures: subscribers.failures, connectMs: subscribers.connectMs },
});
