// run.mjs --server both: one scenario run on `wrangler dev` and on workerd directly (npm start),
// alternated wrangler, workerd, workerd, wrangler; this compares the rows of the four runs.
import { saveResult, savedResults, table } from "./lib.mjs";

/** Mean req/s of row `index` over the saved runs on `server`. */
function meanRps(runs, index) {
  return Math.round(runs.reduce((sum, run) => sum + (run.rows[index]?.["req/s"] ?? 0), 0) / runs.length);
}

/**
 * Prints and saves (<scenario>.servers.json) one row per scenario row: req/s on each server, the
 * factor between them, and each server's ratio to its own bare baseline (the mean of both runs).
 */
export function compareServers(scenario) {
  const on = (server) => savedResults.filter((r) => r.scenario === scenario && r.server === server);
  const wrangler = on("wrangler");
  const workerd = on("workerd");
  if (wrangler.length === 0 || workerd.length === 0) throw new Error(`no results of ${scenario} on both servers`);
  const ratio = (runs, index) => {
    const values = runs.map((run) => Number(run.rows[index]?.ratio)).filter((v) => Number.isFinite(v));
    return values.length ? (values.reduce((a, b) => a + b, 0) / values.length).toFixed(2) : "";
  };
  const rows = (workerd[0]?.rows ?? []).map((row, index) => ({
    connections: row.connections,
    target: row.target,
    "wrangler dev req/s": meanRps(wrangler, index),
    "npm start req/s": meanRps(workerd, index),
    "npm start / wrangler dev": (meanRps(workerd, index) / Math.max(1, meanRps(wrangler, index))).toFixed(2),
    "ratio to bare (wrangler dev)": ratio(wrangler, index),
    "ratio to bare (npm start)": ratio(workerd, index),
  }));
  process.env.ACTORBASE_SERVER = "workerd";
  saveResult(`${scenario}.servers`, { rows, markdown: table(rows), runs: { wrangler, workerd } });
}
