import { describe, expect, it } from "vitest";
import { SERVICE, as, jsonInit, problem } from "./helpers/http";
import { fetchWorker as call } from "./helpers/worker-fetch";
import { parseSfList } from "./helpers/rate-limit-headers";

type Body = Record<string, unknown> & { allowed: boolean; limit: number; remaining: number; retryAfterMs: number; resetAfterMs: number };

async function decide(key: string, body: unknown, headers: Record<string, string> = SERVICE): Promise<{ response: Response; body: Body }> {
  const response = await call(`/api/ratelimit/${encodeURIComponent(key)}`, jsonInit("POST", body, headers));
  return { response, body: (await response.json()) as Body };
}

async function peek(key: string, query: string, headers: Record<string, string> = SERVICE): Promise<Body> {
  const response = await call(`/api/ratelimit/${encodeURIComponent(key)}?${query}`, { headers });
  expect(response.status).toBe(200);
  return (await response.json()) as Body;
}

describe("POST /api/ratelimit/:key", () => {
  it("admits up to the limit, then denies with the wait in the body and in Retry-After", async () => {
    const policy = { limit: 3, periodMs: 60_000 };
    for (const remaining of [2, 1, 0]) {
      const { response, body } = await decide("api-basic", policy);
      expect(response.status).toBe(200);
      expect(body).toMatchObject({ allowed: true, limit: 3, remaining, retryAfterMs: 0 });
      expect(response.headers.get("Retry-After")).toBeNull();
    }
    const { response, body } = await decide("api-basic", policy);
    expect(body).toMatchObject({ allowed: false, limit: 3, remaining: 0 });
    expect(body.retryAfterMs).toBeGreaterThan(19_000);
    expect(body.retryAfterMs).toBeLessThanOrEqual(20_000); // gcra: one unit every 20 s
    expect(Number(response.headers.get("Retry-After"))).toBe(Math.ceil(body.retryAfterMs / 1000));
  });

  it("sends RateLimit-Policy and RateLimit as structured fields that agree with the body", async () => {
    const { response, body } = await decide("api-headers", { limit: 5, periodMs: 10_000, cost: 2 });
    const [policy] = parseSfList(response.headers.get("RateLimit-Policy")!);
    const [limit] = parseSfList(response.headers.get("RateLimit")!);
    expect(policy).toEqual({ value: "inline-0", params: { q: 5, w: 10 } });
    expect(limit).toEqual({ value: "inline-0", params: { r: body.remaining, t: Math.ceil(body.resetAfterMs / 1000) } });
    expect(body.remaining).toBe(3);
  });

  it("gives a Retry-After never earlier than the RateLimit t of the denying policy", async () => {
    await decide("api-retry", { limit: 1, periodMs: 7_500, algorithm: "fixed_window" });
    const { response, body } = await decide("api-retry", { limit: 1, periodMs: 7_500, algorithm: "fixed_window" });
    expect(body.allowed).toBe(false);
    const [limit] = parseSfList(response.headers.get("RateLimit")!);
    expect(limit!.params).toMatchObject({ r: 0 });
    expect(Number(response.headers.get("Retry-After"))).toBeGreaterThanOrEqual(limit!.params.t as number);
    expect(Number(response.headers.get("Retry-After")) * 1000).toBeGreaterThanOrEqual(body.retryAfterMs);
    // 7.5 s is not a whole number of seconds, so the policy carries no w.
    expect(parseSfList(response.headers.get("RateLimit-Policy")!)[0]!.params).toEqual({ q: 1 });
  });

  it("uses named config policies", async () => {
    const { body, response } = await decide("api-named", { policy: "actions" });
    expect(body).toMatchObject({ allowed: true, limit: 10, remaining: 9 });
    expect(parseSfList(response.headers.get("RateLimit-Policy")!)).toEqual([{ value: "actions", params: { q: 10, w: 60 } }]);
  });

  it("keeps named and inline policies with the same numbers apart", async () => {
    await decide("api-apart", { policy: "actions", cost: 10 });
    const { body } = await decide("api-apart", { limit: 10, periodMs: 60_000 });
    expect(body).toMatchObject({ allowed: true, remaining: 9 });
  });

  it("rejects a cost above capacity with 422, since no wait would help", async () => {
    const { response, body } = await decide("api-cost", { limit: 5, periodMs: 1_000, burst: 2, cost: 8 });
    expect(response.status).toBe(422);
    expect(body).toMatchObject({ code: "COST_EXCEEDS_CAPACITY" });
    const ok = await decide("api-cost", { limit: 5, periodMs: 1_000, burst: 2, cost: 7 });
    expect(ok.body).toMatchObject({ allowed: true, remaining: 0 });
  });

  it("peeks with cost 0: reports without debiting", async () => {
    await decide("api-cost0", { limit: 4, periodMs: 60_000, cost: 3 });
    for (let i = 0; i < 3; i++) {
      const { body } = await decide("api-cost0", { limit: 4, periodMs: 60_000, cost: 0 });
      expect(body).toMatchObject({ allowed: true, remaining: 1 });
    }
  });

  it("applies several policies all or nothing: a denial debits none of them", async () => {
    const policies = [
      { limit: 2, periodMs: 60_000, algorithm: "fixed_window" },
      { limit: 10, periodMs: 60_000 },
    ];
    await decide("api-multi", { policies });
    await decide("api-multi", { policies });
    const denied = await decide("api-multi", { policies });
    expect(denied.body.allowed).toBe(false);
    const list = denied.body.policies as { name: string; allowed: boolean; remaining: number }[];
    expect(list.map((p) => [p.name, p.allowed, p.remaining])).toEqual([
      ["inline-0", false, 0],
      ["inline-1", true, 8],
    ]);
    expect(denied.body.limit).toBe(2); // the headline numbers are the denying policy's
    expect(parseSfList(denied.response.headers.get("RateLimit")!).map((i) => i.value)).toEqual(["inline-0", "inline-1"]);
    // The second policy was not debited by the denial.
    const second = await peek("api-multi", "limit=10&periodMs=60000");
    expect(second.remaining).toBe(8);
  });

  it("answers a retry with the same requestId from memory and debits once", async () => {
    const first = await decide("api-idem", { limit: 5, periodMs: 60_000, requestId: "req-1", cost: 2 });
    const retry = await decide("api-idem", { limit: 5, periodMs: 60_000, requestId: "req-1", cost: 2 });
    expect(first.body).toMatchObject({ allowed: true, remaining: 3 });
    expect(retry.body).toMatchObject({ allowed: true, remaining: 3, replayed: true });
    expect((await peek("api-idem", "limit=5&periodMs=60000")).remaining).toBe(3);
    const other = await decide("api-idem", { limit: 5, periodMs: 60_000, requestId: "req-2", cost: 2 });
    expect(other.body.remaining).toBe(1);
  });

  it("decides a denied requestId afresh on retry (only admissions are remembered)", async () => {
    await decide("api-idem-denied", { limit: 1, periodMs: 200, algorithm: "fixed_window" });
    const denied = await decide("api-idem-denied", { limit: 1, periodMs: 200, algorithm: "fixed_window", requestId: "r" });
    expect(denied.body.allowed).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, denied.body.retryAfterMs + 20));
    const later = await decide("api-idem-denied", { limit: 1, periodMs: 200, algorithm: "fixed_window", requestId: "r" });
    expect(later.body.allowed).toBe(true);
  });

  it("dry_run reports the decision and changes nothing", async () => {
    await decide("api-dry", { limit: 2, periodMs: 60_000 });
    const dry = await decide("api-dry", { limit: 2, periodMs: 60_000, mode: "dry_run" });
    expect(dry.body).toMatchObject({ allowed: true, remaining: 0 });
    expect((await peek("api-dry", "limit=2&periodMs=60000")).remaining).toBe(1);
    await decide("api-dry", { limit: 2, periodMs: 60_000 });
    const dryDenied = await decide("api-dry", { limit: 2, periodMs: 60_000, mode: "dry_run" });
    expect(dryDenied.body.allowed).toBe(false);
    expect(dryDenied.response.headers.get("Retry-After")).not.toBeNull();
  });

  it("shadow always allows, reports wouldAllow, and debits exactly what enforce would", async () => {
    const policy = { limit: 2, periodMs: 60_000, mode: "shadow" };
    const results = [];
    for (let i = 0; i < 3; i++) results.push(await decide("api-shadow", policy));
    expect(results.map((r) => [r.body.allowed, r.body.wouldAllow])).toEqual([
      [true, true],
      [true, true],
      [true, false],
    ]);
    expect(results[2]!.response.headers.get("Retry-After")).toBeNull();
    const state = await peek("api-shadow", "limit=2&periodMs=60000");
    expect(state).toMatchObject({ allowed: false, remaining: 0 });
  });

  it.each([
    [{}, 400, "INVALID_REQUEST"],
    [[1, 2], 400, "INVALID_REQUEST"],
    [{ policy: "actions", limit: 5 }, 400, "INVALID_REQUEST"],
    [{ policy: "actions", colour: "red" }, 400, "INVALID_REQUEST"],
    [{ policy: "actions", cost: 1.5 }, 400, "INVALID_REQUEST"],
    [{ policy: "actions", cost: -1 }, 400, "INVALID_REQUEST"],
    [{ policy: "actions", mode: "loud" }, 400, "INVALID_REQUEST"],
    [{ policy: "actions", requestId: "" }, 400, "INVALID_REQUEST"],
    [{ policies: [] }, 400, "INVALID_REQUEST"],
    [{ policies: ["actions", "actions"] }, 400, "INVALID_REQUEST"],
    [{ policy: "nope" }, 422, "UNKNOWN_POLICY"],
    [{ limit: 0, periodMs: 1000 }, 422, "INVALID_POLICY"],
    [{ limit: 5 }, 422, "INVALID_POLICY"],
    [{ limit: 5, periodMs: 1000, algorithm: "leaky" }, 422, "INVALID_POLICY"],
    [{ limit: 5, periodMs: 1000, algorithm: "fixed_window", burst: 2 }, 422, "INVALID_POLICY"],
    [{ limit: 1_000_000_000, periodMs: 31_536_000_000 }, 422, "INVALID_POLICY"],
  ])("answers %j with %i %s", async (body, status, code) => {
    const response = await call("/api/ratelimit/api-bad", jsonInit("POST", body, SERVICE));
    expect(response.status).toBe(status);
    expect(response.headers.get("Content-Type")).toBe("application/problem+json");
    expect((await problem(response)).code).toBe(code);
  });

  it("lists every invalid inline field in errors", async () => {
    const response = await call("/api/ratelimit/api-bad", jsonInit("POST", { limit: -1, periodMs: "soon", aligned: "yes" }, SERVICE));
    const body = await problem(response);
    expect(Object.keys(body.errors ?? {}).sort()).toEqual(["aligned", "limit", "periodMs"]);
  });

  it("refuses malformed JSON, other content types and bad keys", async () => {
    expect(
      (await call("/api/ratelimit/k", { method: "POST", body: "{", headers: { ...SERVICE, "Content-Type": "application/json" } })).status,
    ).toBe(400);
    expect(
      (await call("/api/ratelimit/k", { method: "POST", body: "x", headers: { ...SERVICE, "Content-Type": "text/plain" } })).status,
    ).toBe(415);
    expect((await call(`/api/ratelimit/${"k".repeat(300)}`, jsonInit("POST", { policy: "actions" }, SERVICE))).status).toBe(400);
    expect((await call("/api/ratelimit/%E0%A4%A", jsonInit("POST", { policy: "actions" }, SERVICE))).status).toBe(400);
  });

  it("gives each key its own state, including keys with slashes", async () => {
    await decide("tenant/a", { limit: 1, periodMs: 60_000 });
    const other = await decide("tenant/b", { limit: 1, periodMs: 60_000 });
    expect(other.body.allowed).toBe(true);
    const again = await decide("tenant/a", { limit: 1, periodMs: 60_000 });
    expect(again.body.allowed).toBe(false);
  });
});

describe("GET and DELETE /api/ratelimit/:key", () => {
  it("GET peeks without debiting, by policy name or inline limits", async () => {
    await decide("api-get", { policy: "actions", cost: 4 });
    expect(await peek("api-get", "policy=actions")).toMatchObject({ allowed: true, limit: 10, remaining: 6 });
    expect(await peek("api-get", "policy=actions")).toMatchObject({ remaining: 6 });
    expect(await peek("api-get", "limit=3&periodMs=1000&algorithm=sliding_window")).toMatchObject({
      allowed: true,
      remaining: 3,
      resetAfterMs: 0,
    });
  });

  it("GET needs a policy, and rejects unknown parameters", async () => {
    expect((await call("/api/ratelimit/api-get2", { headers: SERVICE })).status).toBe(400);
    expect((await call("/api/ratelimit/api-get2?policy=actions&x=1", { headers: SERVICE })).status).toBe(400);
    expect((await call("/api/ratelimit/api-get2?limit=abc&periodMs=1000", { headers: SERVICE })).status).toBe(422);
  });

  it("DELETE resets one policy or the whole key", async () => {
    await decide("api-del", { policy: "actions", cost: 5 });
    await decide("api-del", { limit: 2, periodMs: 60_000, cost: 2 });
    expect((await call("/api/ratelimit/api-del?policy=actions", { method: "DELETE", headers: SERVICE })).status).toBe(204);
    expect((await peek("api-del", "policy=actions")).remaining).toBe(10);
    expect((await peek("api-del", "limit=2&periodMs=60000")).remaining).toBe(0);
    expect((await call("/api/ratelimit/api-del", { method: "DELETE", headers: SERVICE })).status).toBe(204);
    expect((await peek("api-del", "limit=2&periodMs=60000")).remaining).toBe(2);
  });
});

describe("rate-limit API auth", () => {
  it("answers anonymous callers 401", async () => {
    const response = await call("/api/ratelimit/alice:x", jsonInit("POST", { policy: "actions" }));
    expect(response.status).toBe(401);
    expect((await problem(response)).code).toBe("AUTH_REQUIRED");
    expect((await call("/api/ratelimit/alice:x?policy=actions")).status).toBe(401);
    expect((await call("/api/ratelimit/alice:x", { method: "DELETE" })).status).toBe(401);
  });

  it("lets a signed-in caller use a public policy on its own keys", async () => {
    const alice = await as("alice");
    const { response, body } = await decide("alice:send-email", { policy: "actions" }, alice);
    expect(response.status).toBe(200);
    expect(body).toMatchObject({ allowed: true, remaining: 9 });
    expect((await call("/api/ratelimit/alice:send-email?policy=actions", { headers: alice })).status).toBe(200);
  });

  it("answers 403 to a signed-in caller on another's key, a non-public policy, inline limits or DELETE", async () => {
    const alice = await as("alice");
    const cases = [
      await call("/api/ratelimit/bob:send-email", jsonInit("POST", { policy: "actions" }, alice)),
      await call("/api/ratelimit/alice", jsonInit("POST", { policy: "actions" }, alice)),
      await call("/api/ratelimit/alicex:y", jsonInit("POST", { policy: "actions" }, alice)),
      await call("/api/ratelimit/alice:x", jsonInit("POST", { policy: "api" }, alice)),
      await call("/api/ratelimit/alice:x", jsonInit("POST", { limit: 1000, periodMs: 1000 }, alice)),
      await call("/api/ratelimit/alice:x", jsonInit("POST", { policies: ["actions", { limit: 5, periodMs: 1000 }] }, alice)),
      await call("/api/ratelimit/alice:x?limit=5&periodMs=1000", { headers: alice }),
      await call("/api/ratelimit/alice:x", { method: "DELETE", headers: alice }),
    ];
    for (const response of cases) {
      expect(response.status).toBe(403);
      expect((await problem(response)).code).toBe("FORBIDDEN");
    }
    // Nothing was debited on bob's key by the refused call.
    expect((await peek("bob:send-email", "policy=actions")).remaining).toBe(10);
  });

  it("refuses a wrong service key with 401", async () => {
    const response = await call("/api/ratelimit/k", jsonInit("POST", { policy: "actions" }, { "X-Service-Key": "wrong" }));
    expect(response.status).toBe(401);
  });
});
