// What a committed write costs the server's one thread on this machine's disk: sends single-row
// writes for a while and traces workerd's fsync calls with strace meanwhile (Linux; needs strace).
//
//   node bench/commit-trace.mjs [seconds] [--actorbase | --refresh]
//
// By default the load is the bare baseline Worker's /do-insert (one SQLite INSERT per request, 100
// actors); `--actorbase` sends Actorbase's POST of one note instead (100 users, each its own block);
// `--refresh` has 10 clients each refresh its session's token chain, every request from an address
// of its own (as the auth scenario does).
// Prints the fsyncs per answered request, their duration percentiles, which threads made them, and
// the share of the run the serving thread spent waiting in them. strace slows the syscalls it
// traces, so the req/s printed here are not a benchmark; the durations are the kernel's.
import { spawn, spawnSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { benchUsers, load, percentile, spread, startActorbase, startBaseline } from "./lib.mjs";

const args = process.argv.slice(2);
const seconds = Number(args.find((arg) => !arg.startsWith("--")) ?? "5");
const refresh = args.includes("--refresh");
const actorbase = refresh || args.includes("--actorbase");
let ipCounter = 0;

/** POST a JSON body from an address of its own. */
async function post(url, path, body) {
  ipCounter += 1;
  const response = await fetch(`${url}${path}`, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      "CF-Connecting-IP": `10.${(ipCounter >> 16) & 255}.${(ipCounter >> 8) & 255}.${ipCounter & 255}`,
    },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

/** 10 clients refreshing their token chains back to back for `duration` s, as `load` reports it. */
async function refreshLoad(url, tokens, duration) {
  let total = 0;
  let non2xx = 0;
  const deadline = performance.now() + duration * 1000;
  await Promise.all(
    tokens.map(async (_, i) => {
      while (performance.now() < deadline) {
        const { status, body } = await post(url, "/api/auth/refresh", { refreshToken: tokens[i] });
        total++;
        if (status === 200) tokens[i] = body.session.refreshToken;
        else non2xx++;
      }
    }),
  );
  return { total, non2xx };
}

if (spawnSync("strace", ["-V"]).status !== 0) {
  console.error("commit-trace needs strace (Debian: apt-get install -y strace).");
  process.exit(1);
}

const cleanup = [];
const traceFile = join(tmpdir(), `commit-trace-${Date.now()}.txt`);
try {
  const users = await benchUsers("writer");
  let server;
  let requests;
  let send;
  if (refresh) {
    server = await startActorbase(cleanup);
    const tokens = [];
    for (let i = 0; i < 10; i++) {
      const signup = await post(server.url, "/api/auth/signup", {
        email: `trace-${Date.now()}-${i}@example.com`,
        password: "trace password 0123",
      });
      tokens.push(signup.body.session.refreshToken);
    }
    send = (duration) => refreshLoad(server.url, tokens, duration);
  } else if (actorbase) {
    server = await startActorbase(cleanup);
    const body = JSON.stringify({ title: "bench row", body: "a small note", priority: 1, tags: ["bench"] });
    requests = spread(users, (u) => ({
      method: "POST",
      path: `/api/db/user:${u.sub}/tables/notes`,
      body,
      headers: { "Content-Type": "application/json", Authorization: u.auth },
    }));
  } else {
    server = await startBaseline(cleanup);
    requests = spread(users, (u) => ({ method: "POST", path: `/do-insert?key=${u.sub}`, body: "a small note" }));
  }
  send ??= (duration) => load({ url: server.url, ...requests, connections: 10, duration, warmup: 0 });
  // Warm up: actors created, tables made, JIT done, before anything is traced.
  await send(2);
  const strace = spawn("strace", ["-f", "-T", "-e", "trace=fsync,fdatasync", "-o", traceFile, "-p", String(server.child.pid)], {
    stdio: "ignore",
  });
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const result = await send(seconds);
  strace.kill("SIGINT");
  await new Promise((resolve) => strace.once("exit", resolve));

  const calls = readFileSync(traceFile, "utf8")
    .split("\n")
    // "<tid>  fsync(23) = 0 <0.000192>", or split by another thread's call: "<tid>  <... fsync resumed>) = 0 <0.001>".
    .map((line) => /^(\d+)\s+(?:<\.\.\. )?(fsync|fdatasync)(?:\(| resumed>).*<([\d.]+)>$/.exec(line))
    .filter((match) => match !== null)
    .map(([, tid, call, duration]) => ({ tid: Number(tid), call, ms: Number(duration) * 1000 }));
  const answered = result.total - result.non2xx;
  const serving = calls.filter((c) => c.tid === server.child.pid);
  const ms = calls.map((c) => c.ms);
  const what = refresh ? "Actorbase POST /api/auth/refresh" : actorbase ? "Actorbase POST one row" : "bare Worker → DO INSERT";
  console.log(`${what}: ${answered} writes answered in ${seconds} s`);
  console.log(`fsync/fdatasync calls: ${calls.length} (${(calls.length / Math.max(1, answered)).toFixed(2)} per write)`);
  console.log(`  on the serving thread: ${serving.length}, on others: ${calls.length - serving.length}`);
  console.log(
    `  ms: p50 ${percentile(ms, 50).toFixed(2)}, p90 ${percentile(ms, 90).toFixed(2)}, p99 ${percentile(ms, 99).toFixed(2)}, max ${Math.max(0, ...ms).toFixed(2)}`,
  );
  const waited = serving.reduce((sum, c) => sum + c.ms, 0);
  console.log(
    `  the serving thread waited in them ${waited.toFixed(0)} ms of the ${seconds * 1000} ms run (${(waited / (seconds * 10)).toFixed(1)}%)`,
  );
} finally {
  rmSync(traceFile, { force: true });
  for (const stop of cleanup.reverse()) await stop().catch(() => {});
}
