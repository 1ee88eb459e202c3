// Rate limiting: actor calls avoided by the in-isolate tier for a blocked hot key. One caller (a
// JWT) hammers GET /api/health with 20 concurrent loops against a server whose platform limit is
// tiny: 100/min (gcra frees one unit every 600 ms, so the caller is blocked in short spells) and
// 1/min (blocked up to 60 s at a time). Each response's Server-Timing says whether the isolate
// answered (desc="isolate") or the request made an actor call (desc="actor").
import { benchToken, saveResult, startActorbase, table } from "../lib.mjs";

const CONCURRENCY = 20;

async function hammer(url, headers, seconds) {
  const counts = { requests: 0, ok: 0, limited: 0, actor: 0, isolate: 0 };
  const deadline = Date.now() + seconds * 1000;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < deadline) {
        const response = await fetch(url, { headers });
        await response.arrayBuffer();
        counts.requests++;
        if (response.status === 200) counts.ok++;
        if (response.status === 429) counts.limited++;
        const timing = response.headers.get("server-timing") ?? "";
        if (timing.includes('ratelimit;desc="actor"')) counts.actor++;
        else if (timing.includes('ratelimit;desc="isolate"')) counts.isolate++;
      }
    }),
  );
  return { ...counts, rps: Math.round(counts.requests / ((Date.now() - started) / 1000)) };
}

export async function run({ name, cleanup, duration }) {
  const rows = [];
  for (const limit of ["100/60000", "1/60000"]) {
    const server = await startActorbase(cleanup, { RATE_LIMIT_PLATFORM: limit });
    const headers = { Authorization: `Bearer ${await benchToken("hot-user")}` };
    await hammer(`${server.url}/api/health`, headers, 2); // warm up and get blocked
    const result = await hammer(`${server.url}/api/health`, headers, duration);
    rows.push({
      "platform limit": limit,
      requests: result.requests,
      "req/s": result.rps,
      "admitted (200)": result.ok,
      "limited (429)": result.limited,
      "actor calls": result.actor,
      "answered in isolate": result.isolate,
      "actor calls avoided": `${((100 * result.isolate) / result.requests).toFixed(1)}%`,
    });
    await server.stop();
  }
  const markdown = table(rows);
  saveResult(name, { rows, markdown, concurrency: CONCURRENCY });
}
