// Accounts: what a signin costs (latency, and workerd CPU per signin: PBKDF2 at 100,000 iterations
// dominates), refresh and GET /api/auth/user against a bare Worker → DO no-op, and the request path
// with tokens the server issued (ES256, verified against its own keys) next to HS256 tokens, each
// against a bare Worker in the same run (ABBA). Shipped defaults; every auth request comes from an
// address of its own (CF-Connecting-IP), so the per-IP limits are not what is measured.
// Targets: refresh and GET /api/auth/user ≥ 0.80x of the bare Worker → DO no-op; the request path
// with issued tokens at the ratio HS256 tokens get. A refresh commits a write (its token is spent),
// so it is also shown against a bare Worker → DO INSERT, a single durable write.
import {
  abba,
  benchUsers,
  load,
  pairRows,
  percentile,
  saveResult,
  serverCpuSeconds,
  spread,
  startActorbase,
  startBaseline,
  table,
} from "../lib.mjs";

const ACCOUNTS = 100;
const PASSWORD = "bench password 0123";
let ipCounter = 0;

/** A client address of its own for each auth request. */
function nextIp() {
  ipCounter += 1;
  return `10.${(ipCounter >> 16) & 255}.${(ipCounter >> 8) & 255}.${ipCounter & 255}`;
}

async function post(url, path, body) {
  const response = await fetch(`${url}${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "CF-Connecting-IP": nextIp() },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

/**
 * A closed loop of `connections` clients, each sending `send(client)` back to back for `seconds`:
 * for calls whose next request depends on the last answer (a refresh spends its token).
 */
async function chained(connections, seconds, send) {
  const latencies = [];
  let errors = 0;
  const deadline = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: connections }, async (_, client) => {
      while (performance.now() < deadline) {
        const started = performance.now();
        const ok = await send(client).catch(() => false);
        latencies.push(performance.now() - started);
        if (!ok) errors++;
      }
    }),
  );
  return { rps: Math.round(latencies.length / seconds), p50: percentile(latencies, 50), p99: percentile(latencies, 99), errors };
}

export async function run({ name, cleanup, duration }) {
  const actorbase = await startActorbase(cleanup);
  const baseline = await startBaseline(cleanup);
  const run = Date.now().toString(36);
  const emails = Array.from({ length: ACCOUNTS }, (_, i) => `bench-${run}-${i}@example.com`);
  const sessions = [];
  for (const email of emails) {
    const signup = await post(actorbase.url, "/api/auth/signup", { email, password: PASSWORD });
    if (signup.status !== 201) throw new Error(`signup answered ${signup.status}: ${JSON.stringify(signup.body)}`);
    sessions.push(signup.body.session);
  }

  // Signin, one at a time: latency, and the server's CPU per signin.
  const signinMs = [];
  const cpuBefore = serverCpuSeconds(actorbase);
  for (const email of emails) {
    const started = performance.now();
    const signin = await post(actorbase.url, "/api/auth/signin", { email, password: PASSWORD });
    signinMs.push(performance.now() - started);
    if (signin.status !== 200) throw new Error(`signin answered ${signin.status}`);
  }
  const cpuPerSignin = ((serverCpuSeconds(actorbase) - cpuBefore) * 1000) / emails.length;
  const wrongMs = [];
  for (const email of emails.slice(0, 20)) {
    const started = performance.now();
    await post(actorbase.url, "/api/auth/signin", { email, password: "not the password" });
    wrongMs.push(performance.now() - started);
  }
  const signin = {
    "p50 ms": percentile(signinMs, 50).toFixed(1),
    "p99 ms": percentile(signinMs, 99).toFixed(1),
    "wrong password p50 ms": percentile(wrongMs, 50).toFixed(1),
    "workerd CPU ms per signin": cpuPerSignin.toFixed(1),
    "signins/s on one core at that CPU": Math.round(1000 / cpuPerSignin),
  };

  const rows = [];
  const connections = 10;
  // Refresh: each client spends its session's token and keeps the next.
  const refreshTokens = sessions.slice(0, connections).map((s) => s.refreshToken);
  const refresh = (client) =>
    post(actorbase.url, "/api/auth/refresh", { refreshToken: refreshTokens[client] }).then(({ status, body }) => {
      if (status === 200) refreshTokens[client] = body.session.refreshToken;
      return status === 200;
    });
  const noop = (client) => fetch(`${baseline.url}/do-noop?key=k${client}`).then((r) => r.arrayBuffer().then(() => r.ok));
  const [bareChained, refreshed] = await abba(
    () => chained(connections, duration, noop),
    () => chained(connections, duration, refresh),
  );
  rows.push(...pairRows(connections, "bare Worker → DO no-op (same client loop)", bareChained, "POST /api/auth/refresh", refreshed));
  // A refresh must commit (the spent token and the next one): against one durable write too.
  const insert = (client) =>
    fetch(`${baseline.url}/do-insert?key=k${client}`, { method: "POST", body: "{}" }).then((r) => r.arrayBuffer().then(() => r.ok));
  const [bareInsert, refreshedAgain] = await abba(
    () => chained(connections, duration, insert),
    () => chained(connections, duration, refresh),
  );
  rows.push(...pairRows(connections, "bare Worker → DO INSERT (same client loop)", bareInsert, "POST /api/auth/refresh", refreshedAgain));

  // GET /api/auth/user over the 100 sessions, and the request path with issued tokens.
  const issued = sessions.map((s) => ({ auth: `Bearer ${s.accessToken}` }));
  const userRequests = spread(issued, (u) => ({ method: "GET", path: "/api/auth/user", headers: { Authorization: u.auth } }));
  const [bareNoop, user] = await abba(
    () => load({ url: `${baseline.url}/do-noop?key=k1`, connections, duration }),
    () => load({ url: actorbase.url, ...userRequests, connections, duration }),
  );
  rows.push(...pairRows(connections, "bare Worker → DO no-op", bareNoop, "GET /api/auth/user (issued token)", user));
  const hs256 = await benchUsers("auth-health");
  const health = (users) => spread(users, (u) => ({ method: "GET", path: "/api/health", headers: { Authorization: u.auth } }));
  const [bareA, viaHs] = await abba(
    () => load({ url: `${baseline.url}/noop`, connections, duration }),
    () => load({ url: actorbase.url, ...health(hs256), connections, duration }),
  );
  rows.push(...pairRows(connections, "bare Worker /noop", bareA, "/api/health, HS256 token", viaHs));
  const [bareB, viaIssued] = await abba(
    () => load({ url: `${baseline.url}/noop`, connections, duration }),
    () => load({ url: actorbase.url, ...health(issued), connections, duration }),
  );
  rows.push(...pairRows(connections, "bare Worker /noop", bareB, "/api/health, issued ES256 token", viaIssued));

  const markdown = `${table([signin])}\n\n${table(rows)}`;
  saveResult(name, { signin, rows, markdown, target: "refresh, user >= 0.80 of the DO no-op; issued tokens at the HS256 ratio" });
}
