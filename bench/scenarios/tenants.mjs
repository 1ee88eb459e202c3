// Tenants: single-row authenticated inserts spread round-robin over 100 tenant blocks
// (user:t0 … user:t99, each with its own JWT) at 50 connections, against the same load on one
// tenant, in the same run, ABBA. A small closed-loop generator (node:http, keep-alive) records
// every request's latency by tenant, so the table shows the slowest tenant's p99 and the spread of
// requests over tenants (no tenant starved). Afterwards every acknowledged row must be stored.
// Target: 100-tenant total at least 90% of the one-tenant figure, zero errors.
import { Agent, request } from "node:http";
import { BENCH_VARS, benchToken, percentile, saveResult, startActorbase, table } from "../lib.mjs";

const BODY = JSON.stringify({ title: "tenant row", priority: 2 });
const CONNECTIONS = 50;

export async function run({ name, cleanup, duration }) {
  const actorbase = await startActorbase(cleanup);
  const url = new URL(actorbase.url);
  const tenants = await Promise.all(
    Array.from({ length: 100 }, async (_, i) => ({ sub: `t${i}`, auth: `Bearer ${await benchToken(`t${i}`)}` })),
  );
  const solo = [{ sub: "solo", auth: `Bearer ${await benchToken("solo")}` }];
  const warm = [await drive(url, tenants, 10, 3), await drive(url, solo, 10, 2)]; // create every actor and table
  const one1 = await drive(url, solo, CONNECTIONS, duration);
  const many1 = await drive(url, tenants, CONNECTIONS, duration);
  const many2 = await drive(url, tenants, CONNECTIONS, duration);
  const one2 = await drive(url, solo, CONNECTIONS, duration);
  const one = merge(one1, one2);
  const many = merge(many1, many2);
  const stored = await storedRows(actorbase.url, [...tenants, ...solo]);
  const acknowledged = [...warm, one1, one2, many1, many2].reduce((n, r) => n + r.ok, 0);
  const perTenant = tenants.map((t) => ({
    tenant: t.sub,
    requests: many.byTenant.get(t.sub)?.length ?? 0,
    p99: percentile(many.byTenant.get(t.sub) ?? [], 99),
  }));
  const counts = perTenant.map((t) => t.requests);
  const p99s = perTenant.map((t) => t.p99);
  const rows = [
    { target: "1 tenant, 50 connections", "req/s": one.rps, "p50 ms": one.p50, "p99 ms": one.p99, errors: one.errors, ratio: "1.00" },
    {
      target: "100 tenants round-robin, 50 connections",
      "req/s": many.rps,
      "p50 ms": many.p50,
      "p99 ms": many.p99,
      errors: many.errors,
      ratio: (many.rps / one.rps).toFixed(2),
    },
  ];
  const markdown = table(rows);
  const fairness = [
    {
      "requests per tenant (min / median / max)": `${Math.min(...counts)} / ${percentile(counts, 50)} / ${Math.max(...counts)}`,
      "per-tenant p99 ms (min / median / max)": `${Math.min(...p99s).toFixed(1)} / ${percentile(p99s, 50).toFixed(1)} / ${Math.max(...p99s).toFixed(1)}`,
      "rows acknowledged": acknowledged,
      "rows stored": stored,
    },
  ];
  const fairnessMarkdown = table(fairness);
  if (stored < acknowledged) console.error(`LOST ROWS: ${acknowledged} acknowledged, ${stored} stored`);
  saveResult(name, { rows, markdown, fairness, fairnessMarkdown, perTenant, target: "ratio >= 0.90, zero errors, no tenant starved" });
}

/** Closed loop: `connections` workers each send the next request as soon as the last answers. */
async function drive(url, tenants, connections, seconds) {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const byTenant = new Map();
  const latencies = [];
  let next = 0;
  let ok = 0;
  let errors = 0;
  const end = Date.now() + seconds * 1000;
  const worker = async () => {
    while (Date.now() < end) {
      const tenant = tenants[next++ % tenants.length];
      const started = performance.now();
      const status = await post(url, agent, tenant).catch(() => 0);
      const ms = performance.now() - started;
      if (status === 201) ok++;
      else errors++;
      latencies.push(ms);
      let list = byTenant.get(tenant.sub);
      if (!list) byTenant.set(tenant.sub, (list = []));
      list.push(ms);
    }
  };
  const startedAt = performance.now();
  await Promise.all(Array.from({ length: connections }, worker));
  const elapsed = (performance.now() - startedAt) / 1000;
  agent.destroy();
  return {
    rps: Math.round(latencies.length / elapsed),
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    errors,
    ok,
    byTenant,
    latencies,
  };
}

function post(url, agent, tenant) {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: `/api/db/user:${tenant.sub}/tables/notes`,
        method: "POST",
        agent,
        headers: { Authorization: tenant.auth, "Content-Type": "application/json", "Content-Length": Buffer.byteLength(BODY) },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(BODY);
  });
}

function merge(a, b) {
  const latencies = [...a.latencies, ...b.latencies];
  const byTenant = new Map(a.byTenant);
  for (const [k, v] of b.byTenant) byTenant.set(k, [...(byTenant.get(k) ?? []), ...v]);
  return {
    rps: Math.round((a.rps + b.rps) / 2),
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    errors: a.errors + b.errors,
    byTenant,
  };
}

async function storedRows(base, tenants) {
  let total = 0;
  for (const t of tenants) {
    const response = await fetch(`${base}/api/db/user:${t.sub}/tables/notes?limit=1&count=exact&select=id`, {
      headers: { Authorization: `Bearer ${BENCH_VARS.SERVICE_KEY}` },
    });
    total += (await response.json()).total;
  }
  return total;
}
