import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error plain ESM script without type declarations
import { startServer } from "../../scripts/server.mjs";
import { parseSfList } from "../helpers/rate-limit-headers";
import { SERVICE_HEADERS, api, token, unique } from "./helpers";
import { E2E_VARS } from "./secrets";

const json = (body: unknown, headers: Record<string, string>): RequestInit => ({
  method: "POST",
  body: JSON.stringify(body),
  headers: { ...headers, "Content-Type": "application/json" },
});

describe("rate-limit API over real HTTP", () => {
  it("admits exactly the limit under 200 concurrent requests and says so in body and headers", async () => {
    const key = unique("e2e-conc-");
    const responses = await Promise.all(
      Array.from({ length: 200 }, () => api(`/api/ratelimit/${key}`, json({ limit: 50, periodMs: 3_600_000 }, SERVICE_HEADERS))),
    );
    const bodies = (await Promise.all(responses.map((r) => r.json()))) as { allowed: boolean; remaining: number }[];
    expect(bodies.filter((b) => b.allowed)).toHaveLength(50);
    const denied = responses[bodies.findIndex((b) => !b.allowed)]!;
    expect(Number(denied.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(parseSfList(denied.headers.get("ratelimit")!)[0]!.params.r).toBe(0);
  });

  it("lets a signed-in caller use the public policy on its own keys only", async () => {
    const sub = unique("u");
    const headers = { Authorization: `Bearer ${await token(sub)}` };
    const own = await api(`/api/ratelimit/${sub}:invite`, json({ policy: "actions" }, headers));
    expect(own.status).toBe(200);
    expect(await own.json()).toMatchObject({ allowed: true, limit: 10, remaining: 9 });
    expect((await api(`/api/ratelimit/someone-else:invite`, json({ policy: "actions" }, headers))).status).toBe(403);
    expect((await api(`/api/ratelimit/${sub}:invite`, json({ policy: "actions" }, {}))).status).toBe(401);
  });

  it("peeks with GET and resets with DELETE", async () => {
    const key = unique("e2e-reset-");
    await api(`/api/ratelimit/${key}`, json({ policy: "actions", cost: 10 }, SERVICE_HEADERS));
    const peek = await api(`/api/ratelimit/${key}?policy=actions`, { headers: SERVICE_HEADERS });
    expect(await peek.json()).toMatchObject({ allowed: false, remaining: 0 });
    expect((await api(`/api/ratelimit/${key}`, { method: "DELETE", headers: SERVICE_HEADERS })).status).toBe(204);
    const after = await api(`/api/ratelimit/${key}?policy=actions`, { headers: SERVICE_HEADERS });
    expect(await after.json()).toMatchObject({ allowed: true, remaining: 10 });
  });
});

/**
 * The shipped config allows 10,000 requests a minute per caller, too many to reach in a test. This
 * suite starts a second real server whose platform limit is overridden to 5 a minute with
 * `--var RATE_LIMIT_PLATFORM:5/60000`, the operator setting documented in docs/rate-limiting.md.
 */
describe("platform limiter over real HTTP (second server, RATE_LIMIT_PLATFORM=5/60000)", () => {
  let server: { url: string; stop: () => Promise<void> };
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "actorbase-e2e-rl-"));
    server = await startServer({ persistTo: dir, vars: { ...E2E_VARS, RATE_LIMIT_PLATFORM: "5/60000" } });
  });

  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("answers the sixth request of a minute with 429, Retry-After and the RateLimit headers", async () => {
    const headers = { Authorization: `Bearer ${await token(unique("p"))}` };
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 8; i++) {
      last = await fetch(`${server.url}/api/health`, { headers });
      statuses.push(last.status);
      if (last.status === 200) await last.body?.cancel();
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
    const denied = last!;
    expect(denied.headers.get("content-type")).toBe("application/problem+json");
    expect(await denied.json()).toMatchObject({ status: 429, code: "RATE_LIMITED" });
    const retryAfter = Number(denied.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(12); // gcra 5/min: one request every 12 s
    expect(parseSfList(denied.headers.get("ratelimit-policy")!)).toEqual([{ value: "api", params: { q: 5, w: 60 } }]);
    expect(parseSfList(denied.headers.get("ratelimit")!)).toEqual([{ value: "api", params: { r: 0, t: retryAfter } }]);
  });

  it("keeps other callers and the service key unaffected", async () => {
    const headers = { Authorization: `Bearer ${await token(unique("q"))}` };
    for (let i = 0; i < 6; i++) await (await fetch(`${server.url}/api/health`, { headers })).body?.cancel();
    const other = await fetch(`${server.url}/api/health`, { headers: { Authorization: `Bearer ${await token(unique("r"))}` } });
    expect(other.status).toBe(200);
    for (let i = 0; i < 10; i++) {
      const service = await fetch(`${server.url}/api/health`, { headers: { Authorization: `Bearer ${E2E_VARS.SERVICE_KEY}` } });
      expect(service.status).toBe(200);
    }
  });
});
