// The request path's own cost per request, inside the isolate: GET /api/health with a JWT through
// the whole Worker (auth, platform limiter, routing, response headers, log decision) against a bare
// handler answering Response.json, 5,000 requests in a row per call (bench/request-path/worker.ts),
// timed from outside, alternated (bare, ours, ours, bare) for 6 rounds. Shipped defaults, npm
// start's workerd. Reports microseconds per request (minimum and median of the runs) and the
// difference: what the Worker itself adds, without the network or the load generator, which on
// this 2-core machine share the CPU with the server and swing req/s by 2-3x.
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { buildConsole } from "../../scripts/build-console.mjs";
import { ROOT } from "../../scripts/server.mjs";
import { BENCH_VARS, benchSettings, benchUsers, saveResult, startTracked, table } from "../lib.mjs";

const N = 5_000;
const ROUNDS = 6;

/**
 * wrangler.toml with the loop Worker as its entry (same actors and vars), written beside it
 * (git-ignored): the bundler runs where the config is, and finds the project's wrangler there.
 * Its `[build]` would run from that folder, so the console module is built here instead.
 */
async function loopConfig() {
  await buildConsole();
  const text = readFileSync(resolve(ROOT, "wrangler.toml"), "utf8")
    .replace(/^main = .*$/m, `main = ${JSON.stringify(resolve(ROOT, "bench/request-path/worker.ts"))}`)
    .replace(/^\[build\][^[]*/m, "");
  const path = resolve(ROOT, "bench/request-path/wrangler.generated.toml");
  writeFileSync(path, text);
  return path;
}

export async function run({ name, cleanup }) {
  const server = await startTracked(cleanup, "actorbase-request-path-", {
    config: await loopConfig(),
    vars: { ...BENCH_VARS, ...benchSettings() },
  });
  const tokens = (await benchUsers("path")).map((u) => u.auth.slice("Bearer ".length));
  const perRequest = async (mode) => {
    const started = process.hrtime.bigint();
    const response = await fetch(`${server.url}/loop`, { method: "POST", body: JSON.stringify({ mode, n: N, tokens }) });
    const { ok } = await response.json();
    if (ok !== N) throw new Error(`${mode}: ${ok} of ${N} answered 200`);
    return Number(process.hrtime.bigint() - started) / 1_000 / N;
  };
  for (const mode of ["ours", "bare", "ours", "bare"]) await perRequest(mode); // warm up
  const runs = { bare: [], ours: [] };
  for (let round = 0; round < ROUNDS; round++) {
    runs.bare.push(await perRequest("bare"));
    runs.ours.push(await perRequest("ours"));
    runs.ours.push(await perRequest("ours"));
    runs.bare.push(await perRequest("bare"));
  }
  const sorted = (values) => [...values].sort((a, b) => a - b);
  const min = (values) => sorted(values)[0];
  const median = (values) => sorted(values)[values.length >> 1];
  const rows = [
    { target: "bare handler (Response.json)", "µs min": min(runs.bare).toFixed(1), "µs median": median(runs.bare).toFixed(1) },
    { target: "Actorbase GET /api/health (JWT)", "µs min": min(runs.ours).toFixed(1), "µs median": median(runs.ours).toFixed(1) },
    {
      target: "added by the request path",
      "µs min": (min(runs.ours) - min(runs.bare)).toFixed(1),
      "µs median": (median(runs.ours) - median(runs.bare)).toFixed(1),
    },
  ];
  const markdown = table(rows);
  saveResult(name, { rows, markdown, runs, requestsPerRun: N });
}
