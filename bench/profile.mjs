// Where the runtime's CPU goes under a benchmark's load: V8's sampling profiler on the server's workerd
// (the Worker and every actor share that isolate), through its inspector port (npm start's workerd, or
// wrangler dev's with ACTORBASE_SERVER=wrangler).
//
//   node bench/profile.mjs <workload> [seconds]      (PROFILE_CONNECTIONS=50 for health, noop, read and do-noop; 10 unless told)
//
// Workloads: health (GET /api/health over 100 signed-in users, as p0-health), noop (the baseline's bare /noop, as p0-health's other side),
// read (GET row by id, each of 100 users its own note, as p1-read), do-noop (the baseline's Worker → DO no-op over as many actors, p1-read's other side), do-get (the baseline's Worker → DO one-row SELECT, p1-read's floor), new-callers (GET /api/health from a new address every request: a new platform-limiter caller each), new-tenants (the first insert into a new tenant block, each with its own JWT, as tenants-burst), refresh (10 clients each refreshing its session's token chain, as auth), ratelimit-keys (POST /api/ratelimit/<key> over 1,000 gcra keys, as ratelimit-decisions),
// ratelimit-noop (the baseline's Worker → DO no-op over 1,000 keys), realtime-writes (inserts into a
// block with 500 batch subscribers, as realtime-writes). Prints the functions with the most samples
// (self, then including callees) as shares of all samples; idle time is its own line. The
// .cpuprofile is written to the temp dir for Chrome DevTools. Native work (an RPC call, a socket
// send, a SQLite statement) counts towards the function that called it.
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BENCH_VARS, benchToken, benchUsers, inspector, load, seedNotes, spread, startActorbase, startBaseline } from "./lib.mjs";
import { countingSubscribers } from "./realtime-clients.mjs";

const KEYS = 1_000;
/** Connections for the health, noop, read and do-noop workloads (PROFILE_CONNECTIONS; P0 runs 10 and 50). */
const CONNECTIONS = Number(process.env.PROFILE_CONNECTIONS ?? "10");
const SERVICE = { Authorization: `Bearer ${BENCH_VARS.SERVICE_KEY}`, "Content-Type": "application/json" };
const randomKey = (path) => (req) => ({ ...req, path: path(Math.floor(Math.random() * KEYS)) });

/** Each workload starts its server and returns the load to profile (run once to warm up, then profiled). */
const WORKLOADS = {
  async health(cleanup, duration) {
    const server = await startActorbase(cleanup);
    const users = await benchUsers("health");
    const requests = spread(users, (u) => ({ method: "GET", path: "/api/health", headers: { Authorization: u.auth } }));
    return { server, run: () => load({ url: server.url, ...requests, connections: CONNECTIONS, duration }) };
  },
  async "new-callers"(cleanup, duration) {
    const server = await startActorbase(cleanup);
    let sent = 0;
    const fromNewAddress = (request) => {
      sent++;
      const ip = `10.${(sent >> 16) & 255}.${(sent >> 8) & 255}.${sent & 255}`;
      return { ...request, path: "/api/health", headers: { "CF-Connecting-IP": ip } };
    };
    const requests = { requests: [{ method: "GET", setupRequest: fromNewAddress }] };
    return { server, run: () => load({ url: server.url, ...requests, connections: CONNECTIONS, duration }) };
  },
  async "new-tenants"(cleanup, duration) {
    const server = await startActorbase(cleanup);
    const tokens = await Promise.all(Array.from({ length: 5_000 }, (_, i) => benchToken(`tenant${i}`)));
    let sent = 0;
    const toNewBlock = (request) => {
      const i = sent++ % tokens.length;
      const headers = { Authorization: `Bearer ${tokens[i]}`, "Content-Type": "application/json" };
      return { ...request, path: `/api/db/user:tenant${i}/tables/notes`, headers };
    };
    const requests = {
      requests: [{ method: "POST", body: JSON.stringify({ title: "first row", priority: 1 }), setupRequest: toNewBlock }],
    };
    return { server, run: () => load({ url: server.url, ...requests, connections: CONNECTIONS, duration }) };
  },
  async refresh(cleanup, duration) {
    const server = await startActorbase(cleanup);
    const send = (path, body) =>
      fetch(`${server.url}${path}`, {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          "CF-Connecting-IP": `10.9.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`,
        },
        body: JSON.stringify(body),
      }).then((r) => r.json());
    const tokens = [];
    for (let i = 0; i < 10; i++)
      tokens.push(
        (await send("/api/auth/signup", { email: `p${i}-${Date.now()}@example.com`, password: "profile password" })).session.refreshToken,
      );
    const run = async () => {
      let count = 0;
      const deadline = Date.now() + duration * 1000;
      await Promise.all(
        tokens.map(async (_, i) => {
          while (Date.now() < deadline) {
            tokens[i] = (await send("/api/auth/refresh", { refreshToken: tokens[i] })).session.refreshToken;
            count++;
          }
        }),
      );
      return { rps: Math.round(count / duration), p50: 0, p99: 0 };
    };
    return { server, run };
  },
  async read(cleanup, duration) {
    const server = await startActorbase(cleanup);
    const users = await benchUsers("reader");
    await seedNotes(server, users);
    const requests = spread(users, (u) => ({ method: "GET", path: u.path, headers: { Authorization: u.auth } }));
    return { server, run: () => load({ url: server.url, ...requests, connections: CONNECTIONS, duration }) };
  },
  async "do-noop"(cleanup, duration) {
    const server = await startBaseline(cleanup);
    const users = await benchUsers("reader");
    const requests = spread(users, (u) => ({ method: "GET", path: `/do-noop?key=${u.sub}` }));
    return { server, run: () => load({ url: server.url, ...requests, connections: CONNECTIONS, duration }) };
  },
  async "do-get"(cleanup, duration) {
    const server = await startBaseline(cleanup);
    const users = await benchUsers("reader");
    for (const user of users) {
      const created = await fetch(`${server.url}/do-insert?key=${user.sub}`, { method: "POST", body: "read me by id" });
      user.barePath = `/do-get?key=${user.sub}&id=${(await created.json()).id}`;
    }
    const requests = spread(users, (u) => ({ method: "GET", path: u.barePath }));
    return { server, run: () => load({ url: server.url, ...requests, connections: CONNECTIONS, duration }) };
  },
  async noop(cleanup, duration) {
    const server = await startBaseline(cleanup);
    return { server, run: () => load({ url: `${server.url}/noop`, connections: CONNECTIONS, duration }) };
  },
  async "ratelimit-keys"(cleanup, duration) {
    const server = await startActorbase(cleanup);
    const body = JSON.stringify({ limit: 1_000_000_000, periodMs: 60_000 });
    for (let start = 0; start < KEYS; start += 50) {
      await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          fetch(`${server.url}/api/ratelimit/k${start + i}`, { method: "POST", headers: SERVICE, body }).then((r) => r.arrayBuffer()),
        ),
      );
    }
    return {
      server,
      run: () =>
        load({
          url: server.url,
          requests: [{ method: "POST", headers: SERVICE, body, setupRequest: randomKey((k) => `/api/ratelimit/k${k}`) }],
          connections: 50,
          duration,
        }),
    };
  },
  async "ratelimit-noop"(cleanup, duration) {
    const server = await startBaseline(cleanup);
    return {
      server,
      run: () =>
        load({
          url: server.url,
          requests: [{ method: "GET", setupRequest: randomKey((k) => `/do-noop?key=k${k}`) }],
          connections: 50,
          duration,
        }),
    };
  },
  async "realtime-writes"(cleanup, duration) {
    const server = await startActorbase(cleanup);
    const block = `user:profile${Date.now().toString(36)}`;
    await countingSubscribers(cleanup, server, block, 500, true);
    const body = JSON.stringify({ title: "bench", body: "0" });
    return {
      server,
      run: () =>
        load({ url: `${server.url}/api/db/${block}/tables/notes`, method: "POST", connections: 10, duration, headers: SERVICE, body }),
    };
  },
};

/** The functions with the most samples, self and including callees, as lines of text. */
function summarize(profile, top) {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const name = (node) =>
    `${node.callFrame.functionName || "(anonymous)"} ${node.callFrame.url.split("/").pop()}:${node.callFrame.lineNumber + 1}`;
  const self = new Map();
  const inclusive = new Map();
  for (const sample of profile.samples) {
    const leaf = name(nodes.get(sample));
    self.set(leaf, (self.get(leaf) ?? 0) + 1);
    const seen = new Set();
    for (let id = sample; id !== undefined; id = parent.get(id)) {
      const frame = name(nodes.get(id));
      if (!seen.has(frame)) inclusive.set(frame, (inclusive.get(frame) ?? 0) + 1);
      seen.add(frame);
    }
  }
  const lines = (counts) =>
    [...counts]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([frame, count]) => `${((100 * count) / profile.samples.length).toFixed(1).padStart(5)}%  ${frame}`);
  return [`${profile.samples.length} samples`, "-- self --", ...lines(self), "-- including callees --", ...lines(inclusive)].join("\n");
}

process.env.ACTORBASE_INSPECT = "1"; // npm start's workerd opens its inspector only when asked
const [workload, seconds = "10"] = process.argv.slice(2);
if (!WORKLOADS[workload]) {
  console.error(`usage: node bench/profile.mjs <${Object.keys(WORKLOADS).join("|")}> [seconds]`);
  process.exit(2);
}
const cleanup = [];
try {
  const { server, run } = await WORKLOADS[workload](cleanup, Number(seconds));
  await run(); // warm up: the profile should not show the JIT's first minutes
  const { send, close } = await inspector(server.inspectorPort);
  await send("Profiler.enable");
  await send("Profiler.setSamplingInterval", { interval: 200 });
  await send("Profiler.start");
  const result = await run();
  const { result: stopped } = await send("Profiler.stop");
  close();
  const file = join(tmpdir(), `${workload}-${Date.now()}.cpuprofile`);
  writeFileSync(file, JSON.stringify(stopped.profile));
  console.log(`${workload}: ${result.rps} req/s under the profiler (p50 ${result.p50} ms, p99 ${result.p99} ms); profile: ${file}`);
  // The isolate's thread time per request: the share of samples not idle, over the requests answered.
  const idle = stopped.profile.nodes.filter((node) => node.callFrame.functionName === "(idle)").map((node) => node.id);
  const idleSamples = stopped.profile.samples.filter((id) => idle.includes(id)).length;
  const busy = 1 - idleSamples / stopped.profile.samples.length;
  console.log(`isolate busy ${(100 * busy).toFixed(1)}% of the time: ${((busy * 1e6) / result.rps).toFixed(1)} µs per request`);
  console.log(summarize(stopped.profile, 30));
} finally {
  for (const stop of cleanup.reverse()) await stop();
}
