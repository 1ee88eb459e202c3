import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { unwrap } from "../shared/rpc";
import { IsolateLimiter, type LeaseFetcher, maxLease } from "../workers/middleware/rate-limit-isolate";
import { TEST_SECRETS } from "./env";
import { SERVICE, as, problem, token } from "./helpers/http";
import { parseSfList } from "./helpers/rate-limit-headers";
import { fetchWorker } from "./helpers/worker-fetch";
import { fakeActor, policy } from "./helpers/lease-actor";

describe("IsolateLimiter (the in-isolate tier)", () => {
  it("costs a steady caller one actor call per lease, growing the lease while it is used up in time", async () => {
    let now = 0;
    const limiter = new IsolateLimiter(() => now);
    const actor = fakeActor(1_000_000);
    let calledActor = 0;
    for (let i = 0; i < 1_000; i++) {
      now += 1;
      const admission = await limiter.admit("sub:steady", policy(100_000), actor.fetch, null);
      expect(admission.allowed).toBe(true);
      if (admission.calledActor) calledActor++;
    }
    expect(actor.calls.slice(0, 8)).toEqual([1, 2, 4, 8, 16, 32, 64, 128]);
    expect(Math.max(...actor.calls)).toBe(maxLease(policy(100_000)));
    expect(calledActor).toBe(actor.calls.length);
    expect(actor.calls.length).toBeLessThan(20); // vs 1,000 requests
  });

  it("halves the lease when units expire unused", async () => {
    let now = 0;
    const limiter = new IsolateLimiter(() => now);
    const actor = fakeActor(1_000_000);
    for (let i = 0; i < 8; i++) await limiter.admit("sub:slow", policy(100_000), actor.fetch, null); // leases 1, 2, 4, 8
    now += 5_000; // the lease expires with units unused
    await limiter.admit("sub:slow", policy(100_000), actor.fetch, null);
    expect(actor.calls.at(-1)).toBe(actor.calls.at(-2)! / 2);
  });

  it("leases one unit at a time under a low limit, so the actor decides every request", async () => {
    const limiter = new IsolateLimiter(() => 0);
    const actor = fakeActor(150);
    for (let i = 0; i < 10; i++) await limiter.admit("sub:low", policy(150), actor.fetch, null);
    expect(actor.calls).toEqual(Array(10).fill(1));
  });

  it("denies a blocked caller without calling the actor until its retry time, and blocks its credential early", async () => {
    let now = 0;
    const limiter = new IsolateLimiter(() => now);
    const actor = fakeActor(2);
    const admissions = [];
    for (let i = 0; i < 50; i++) admissions.push(await limiter.admit("sub:hot", policy(2), actor.fetch, "Bearer hot"));
    expect(admissions.filter((a) => a.allowed)).toHaveLength(2);
    expect(actor.calls).toHaveLength(3); // two single-unit leases and the one denial
    expect(admissions.filter((a) => a.calledActor)).toHaveLength(3);
    expect(admissions.at(-1)).toMatchObject({ allowed: false, retryAfterMs: 5_000 });
    expect(limiter.blockedFor("Bearer hot")).toBe(5_000);
    expect(limiter.blockedFor("Bearer other")).toBe(0);
    now += 5_000;
    expect(limiter.blockedFor("Bearer hot")).toBe(0);
    actor.state.units = 1;
    expect(await limiter.admit("sub:hot", policy(2), actor.fetch, "Bearer hot")).toMatchObject({ allowed: true, calledActor: true });
  });

  it("admits concurrent requests of one caller exactly as far as the actor granted", async () => {
    const limiter = new IsolateLimiter(() => 0);
    const actor = fakeActor(10);
    const admissions = await Promise.all(Array.from({ length: 30 }, () => limiter.admit("sub:burst", policy(150), actor.fetch, null)));
    expect(admissions.filter((a) => a.allowed)).toHaveLength(10);
    expect(actor.calls.length).toBeLessThanOrEqual(30);
  });

  it("never leaves a request waiting on another request's lease that never settles", async () => {
    const limiter = new IsolateLimiter(() => 0);
    const actor = fakeActor(1_000);
    let calls = 0;
    // The second lease (a sized one) belongs to a request whose client went away: it never settles.
    const fetch: LeaseFetcher = (want) => {
      calls += 1;
      if (calls !== 2) return actor.fetch(want);
      return new Promise<never>(() => {});
    };
    await limiter.admit("sub:abandoned", policy(100_000), fetch, null); // lease of 1, used at once
    void limiter.admit("sub:abandoned", policy(100_000), fetch, null); // lease of 2: hangs forever
    const next = await Promise.race([
      limiter.admit("sub:abandoned", policy(100_000), fetch, null),
      new Promise<"hung">((resolve) => setTimeout(() => resolve("hung"), 1_000)),
    ]);
    expect(next).toMatchObject({ allowed: true, calledActor: true });
    expect(actor.calls).toEqual([1, 1]); // waited briefly on the hung lease, then asked for itself
  });

  it("presumes a lease call lost after a second: the caller's next round is sized again and nobody waits on the lost call", async () => {
    let now = 0;
    const limiter = new IsolateLimiter(() => now);
    const actor = fakeActor(1_000);
    let calls = 0;
    const fetch: LeaseFetcher = (want) => {
      calls += 1;
      if (calls !== 2) return actor.fetch(want);
      return new Promise<never>(() => {}); // the lease of 2 belongs to a request whose client went away
    };
    await limiter.admit("sub:lost", policy(100_000), fetch, null); // lease of 1, used at once
    void limiter.admit("sub:lost", policy(100_000), fetch, null); // lease of 2: hangs forever
    now = 1_001;
    for (let i = 0; i < 4; i++) expect(await limiter.admit("sub:lost", policy(100_000), fetch, null)).toMatchObject({ allowed: true });
    // A lease of 2, then a top-up of 4 (held to one-unit refills, it would have made four calls of 1).
    expect(actor.calls).toEqual([1, 2, 4]);
  });

  it("spends the units of a top-up that lands after a refusal came back, and lifts the caller's early block for them", async () => {
    const limiter = new IsolateLimiter(() => 0);
    const actor = fakeActor(7); // leases 1 and 2, then a top-up of 4 takes the last units
    let release: () => void = () => {};
    const late: LeaseFetcher = async (want) => {
      const lease = actor.fetch(want); // decided now, answered when released
      if (want === 4) await new Promise<void>((resolve) => (release = resolve));
      return lease;
    };
    const admit = () => limiter.admit("sub:race", policy(100_000), late, "Bearer race");
    await admit(); // lease of 1
    await admit(); // lease of 2, one unit left
    const topping = admit(); // spends it and tops up 4, answered late
    expect(await admit()).toMatchObject({ allowed: false, calledActor: true }); // the actor has nothing left: blocked
    expect(limiter.blockedFor("Bearer race")).toBeGreaterThan(0);
    release();
    expect(await topping).toMatchObject({ allowed: true });
    // The 4 units landed after the refusal: they are spent, not left to expire behind the block.
    expect(limiter.blockedFor("Bearer race")).toBe(0);
    for (let i = 0; i < 4; i++) expect(await admit()).toMatchObject({ allowed: true });
    expect(await admit()).toMatchObject({ allowed: false, calledActor: false }); // then the block holds again
    expect(actor.calls).toEqual([1, 2, 4, 1, 8]); // the last is a top-up the actor refused
  });

  it("lets concurrent requests wait briefly on one sized lease instead of each calling the actor", async () => {
    const limiter = new IsolateLimiter(() => 0);
    const actor = fakeActor(1_000);
    await limiter.admit("sub:wave", policy(100_000), actor.fetch, null); // lease 1
    const admissions = await Promise.all(Array.from({ length: 3 }, () => limiter.admit("sub:wave", policy(100_000), actor.fetch, null)));
    expect(admissions.every((a) => a.allowed)).toBe(true);
    expect(actor.calls).toEqual([1, 2, 4]); // the lease of 2 served two waiting requests; the third started the next round
  });

  it("tops up ahead: while the next lease is on its way, the caller's other requests spend what is left without waiting", async () => {
    let now = 0;
    const limiter = new IsolateLimiter(() => now);
    const actor = fakeActor(1_000_000);
    for (let i = 0; i < 6; i++) {
      now += 1;
      await limiter.admit("sub:ahead", policy(100_000), actor.fetch, null);
    }
    expect(actor.calls).toEqual([1, 2, 4, 8]); // 9 units held after the top-up of 8, none spent since
    let release: () => void = () => {};
    const slow: LeaseFetcher = async (want) => {
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      return actor.fetch(want);
    };
    const spend = () => limiter.admit("sub:ahead", policy(100_000), slow, null);
    for (let i = 0; i < 5; i++) expect(await spend()).toMatchObject({ allowed: true, calledActor: false }); // 4 left: half of 8
    const topping = spend(); // leaves 3: under half, so this request asks for the next lease
    const meanwhile = await Promise.all([spend(), spend(), spend()]); // the 3 left, no waiting
    expect(meanwhile.every((a) => a.allowed && !a.calledActor)).toBe(true);
    expect(actor.calls).toEqual([1, 2, 4, 8]); // the top-up has not reached the actor yet
    release();
    expect(await topping).toMatchObject({ allowed: true, calledActor: true });
    expect(actor.calls).toEqual([1, 2, 4, 8, 16]);
    expect(await spend()).toMatchObject({ allowed: true, calledActor: false }); // from the 16
  });

  it("keeps each batch's own expiry: units of a lease are never spent after it expires, whatever top-ups landed", async () => {
    let now = 0;
    const limiter = new IsolateLimiter(() => now);
    const actor = fakeActor(1 + 2 + 4 + 8 + 16); // exactly the leases below; any later one is refused
    const admit = () => limiter.admit("sub:expiry", policy(100_000), actor.fetch, null); // leases last 1,000 ms
    for (let i = 0; i < 6; i++) await admit(); // leases 1 and 2, top-ups of 4 and 8 (at t = 0): 1 + 8 held
    now = 600;
    for (let i = 0; i < 5; i++) await admit(); // the 1, then 4 of the 8 (granted at 0, expiring at 1,000)
    await admit(); // leaves 3 of the 8: tops up 16 at t = 600, expiring at 1,600
    expect(actor.calls).toEqual([1, 2, 4, 8, 16]);
    now = 1_000; // the 3 left of the 8 expire now; only the 16 may be spent
    const admissions = [];
    for (let i = 0; i < 20; i++) admissions.push(await admit());
    expect(admissions.filter((a) => a.allowed)).toHaveLength(16);
    expect(admissions.at(-1)).toMatchObject({ allowed: false });
  });

  it("does not retry a top-up the actor refused until the retry time it gave", async () => {
    let now = 0;
    const limiter = new IsolateLimiter(() => now);
    const actor = fakeActor(7); // enough for leases 1 and 2 and a top-up of 4; the top-up of 8 is refused
    const admit = () => limiter.admit("sub:refused", policy(100_000), actor.fetch, null);
    for (let i = 0; i < 3; i++) await admit(); // leases 1, 2, top-up 4: the actor is now out of units
    const spent = [];
    for (let i = 0; i < 4; i++) spent.push(await admit()); // 4 held units; the third leaves 1 and asks for 8
    expect(spent.every((a) => a.allowed)).toBe(true);
    expect(actor.calls).toEqual([1, 2, 4, 8]); // one refused top-up, not one per admitted request
    expect(await admit()).toMatchObject({ allowed: false, calledActor: true }); // the ordinary refill learns the wait
    now += 5_000;
    actor.state.units = 100;
    expect(await admit()).toMatchObject({ allowed: true, calledActor: true });
  });

  it.each([60_000, 500])(
    "asks for one unit, not another full lease, when it gives up waiting on a slow top-up (period %i ms)",
    async (periodMs) => {
      // The real clock: at 500 ms a lease lives 50 ms, less than a waiter waits, and the top-up must still count as under way.
      const limiter = new IsolateLimiter();
      const actor = fakeActor(1_000);
      for (let i = 0; i < 3; i++) await limiter.admit("sub:slowtop", policy(100_000, periodMs), actor.fetch, null); // leases 1, 2, top-up 4
      let release: () => void = () => {};
      const slow: LeaseFetcher = async (want) => {
        if (want > 1) {
          await new Promise<void>((resolve) => {
            release = resolve;
          });
        }
        return actor.fetch(want);
      };
      const admit = () => limiter.admit("sub:slowtop", policy(100_000, periodMs), slow, null);
      for (let i = 0; i < 2; i++) await admit(); // 2 of the 4 left
      const topping = admit(); // leaves 1: tops up 8, which hangs
      await admit(); // the last unit
      expect(await admit()).toMatchObject({ allowed: true, calledActor: true }); // waited twice, then asked for itself
      expect(actor.calls).toEqual([1, 2, 4, 1]);
      release();
      await topping;
      expect(actor.calls).toEqual([1, 2, 4, 1, 8]);
    },
  );

  it("never lets a refill that lands late extend the life of units already held", async () => {
    let now = 0;
    const limiter = new IsolateLimiter(() => now);
    const actor = fakeActor(1_000_000);
    for (let i = 0; i < 3; i++) await limiter.admit("sub:late", policy(100_000), actor.fetch, null); // leases 1, 2, top-up 4
    const gates: Array<() => void> = [];
    const gated: LeaseFetcher = async (want) => {
      await new Promise<void>((resolve) => gates.push(resolve));
      return actor.fetch(want);
    };
    const admit = () => limiter.admit("sub:late", policy(100_000), gated, null);
    await admit();
    await admit(); // 2 of the 4 left
    const topping = admit(); // leaves 1: tops up 8, held at its gate
    await admit(); // the last unit
    const waiter = admit(); // waits twice on the top-up, then asks for one unit itself
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(gates).toHaveLength(2);
    now = 100;
    gates[0]!();
    await topping; // the 8 land at t = 100 and expire at 1,100
    await admit();
    await admit(); // 6 of them left
    now = 900;
    gates[1]!();
    expect(await waiter).toMatchObject({ allowed: true, calledActor: true }); // its unit lands at t = 900
    now = 1_500; // the 6 expired at 1,100, whatever landed later
    expect(await limiter.admit("sub:late", policy(100_000), actor.fetch, null)).toMatchObject({ allowed: true, calledActor: true });
  });

  it("keeps a request admitted when its top-up fails, and leaves the error to the next refill", async () => {
    const limiter = new IsolateLimiter(() => 0);
    const actor = fakeActor(1_000_000);
    for (let i = 0; i < 3; i++) await limiter.admit("sub:fails", policy(100_000), actor.fetch, null); // leases 1, 2, then a top-up of 4
    const failing: LeaseFetcher = async () => {
      throw new Error("actor unavailable");
    };
    const spent = [];
    for (let i = 0; i < 4; i++) spent.push(await limiter.admit("sub:fails", policy(100_000), failing, null));
    expect(spent.every((a) => a.allowed)).toBe(true); // the 4 units held; the top-up after the third failed
    await expect(limiter.admit("sub:fails", policy(100_000), failing, null)).rejects.toThrow("actor unavailable");
  });

  it("keeps its memory bounded, forgetting the oldest callers first", async () => {
    const limiter = new IsolateLimiter(() => 0, 100);
    const actor = fakeActor(1_000_000);
    await limiter.admit("sub:first", policy(100_000), actor.fetch, null); // lease of 1
    await limiter.admit("sub:first", policy(100_000), actor.fetch, null); // used up in time: lease of 2, one unit left
    expect(actor.calls).toEqual([1, 2]);
    for (let i = 0; i < 200; i++) await limiter.admit(`sub:${i}`, policy(100_000), actor.fetch, null);
    actor.calls.length = 0;
    await limiter.admit("sub:first", policy(100_000), actor.fetch, null);
    expect(actor.calls).toEqual([1]); // forgotten: the leftover unit is gone and the lease starts over
  });
});

describe("leases against the real RateLimiterDO", () => {
  async function crowd(name: string, limit: number, isolates: number, requests: number): Promise<number> {
    const p = policy(limit, 3_600_000);
    const stub = env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(name));
    const fetch: LeaseFetcher = async (want) => unwrap(await stub.lease(name, p, want));
    const limiters = Array.from({ length: isolates }, () => new IsolateLimiter());
    const admissions = await Promise.all(
      Array.from({ length: requests }, (_, i) => limiters[i % isolates]!.admit("sub:crowd", p, fetch, null)),
    );
    return admissions.filter((a) => a.allowed).length;
  }

  it("never lets five isolates together admit more than a low limit (10), and admits exactly it", async () => {
    expect(await crowd("platform:crowd-low", 10, 5, 200)).toBe(10);
  });

  it("never lets five isolates together exceed a leased limit (1,000), wasting at most one lease each", async () => {
    const admitted = await crowd("platform:crowd-high", 1_000, 5, 3_000);
    expect(admitted).toBeLessThanOrEqual(1_000);
    expect(admitted).toBeGreaterThanOrEqual(1_000 - 5 * maxLease(policy(1_000)));
  });
});

describe("the platform limiter on /api/*", () => {
  const tiny = { RATE_LIMIT_PLATFORM: "3/60000" };

  it("answers 429 problem+json with Retry-After and the headers once a caller is over the limit", async () => {
    const carol = await as("carol");
    for (let i = 0; i < 3; i++) {
      const ok = await fetchWorker("/api/health", { headers: carol }, tiny);
      expect(ok.status).toBe(200);
      expect(parseSfList(ok.headers.get("RateLimit-Policy")!)).toEqual([{ value: "api", params: { q: 3, w: 60 } }]);
      expect(parseSfList(ok.headers.get("RateLimit")!)[0]!.params.r).toBe(2 - i);
    }
    const denied = await fetchWorker("/api/health", { headers: carol }, tiny);
    expect(denied.status).toBe(429);
    expect(denied.headers.get("Content-Type")).toBe("application/problem+json");
    expect(await problem(denied)).toMatchObject({ status: 429, code: "RATE_LIMITED" });
    const retryAfter = Number(denied.headers.get("Retry-After"));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(20); // gcra: one request every 20 s
    const [limit] = parseSfList(denied.headers.get("RateLimit")!);
    expect(limit).toEqual({ value: "api", params: { r: 0, t: retryAfter } });
    expect(denied.headers.get("Server-Timing")).toContain('ratelimit;desc="actor"');
    expect(denied.headers.get("X-Request-Id")).toBeTruthy();
  });

  it("denies a known-blocked caller in the isolate, before authentication, without an actor call", async () => {
    const headers = { Authorization: `Bearer ${await token("dave")}` };
    for (let i = 0; i < 4; i++) await fetchWorker("/api/health", { headers }, tiny);
    const early = await fetchWorker("/api/health", { headers }, tiny);
    expect(early.status).toBe(429);
    expect(early.headers.get("Server-Timing")).toContain('ratelimit;desc="isolate"');
    expect(early.headers.get("Retry-After")).not.toBeNull();
    // Another token of the same user is verified first, then denied by the leased tier's memory.
    const other = await fetchWorker("/api/health", { headers: { Authorization: `Bearer ${await token("dave", { n: 2 })}` } }, tiny);
    expect(other.status).toBe(429);
    // A forged token naming dave is not the blocked credential: it is refused as invalid, not rate limited.
    const forged = await fetchWorker("/api/health", { headers: { Authorization: `${headers.Authorization}x` } }, tiny);
    expect(forged.status).toBe(401);
  });

  it("limits each caller separately: users by sub, anonymous callers by IP", async () => {
    const erin = await as("erin");
    for (let i = 0; i < 4; i++) await fetchWorker("/api/health", { headers: erin }, tiny);
    expect((await fetchWorker("/api/health", { headers: erin }, tiny)).status).toBe(429);
    expect((await fetchWorker("/api/health", { headers: await as("frank") }, tiny)).status).toBe(200);
    const ip = (address: string) => ({ "CF-Connecting-IP": address });
    for (let i = 0; i < 3; i++) expect((await fetchWorker("/api/health", { headers: ip("203.0.113.7") }, tiny)).status).toBe(200);
    expect((await fetchWorker("/api/health", { headers: ip("203.0.113.7") }, tiny)).status).toBe(429);
    expect((await fetchWorker("/api/health", { headers: ip("203.0.113.8") }, tiny)).status).toBe(200);
  });

  it("keys callers of the anon key by IP: one over the limit does not block the others sending it", async () => {
    const anon = (address: string) => ({ Authorization: `Bearer ${TEST_SECRETS.ANON_KEY}`, "CF-Connecting-IP": address });
    for (let i = 0; i < 3; i++) expect((await fetchWorker("/api/health", { headers: anon("203.0.113.20") }, tiny)).status).toBe(200);
    expect((await fetchWorker("/api/health", { headers: anon("203.0.113.20") }, tiny)).status).toBe(429);
    expect((await fetchWorker("/api/health", { headers: anon("203.0.113.20") }, tiny)).status).toBe(429);
    expect((await fetchWorker("/api/health", { headers: anon("203.0.113.21") }, tiny)).status).toBe(200);
  });

  it("exempts the service key", async () => {
    for (let i = 0; i < 20; i++) {
      const response = await fetchWorker("/api/health", { headers: SERVICE }, tiny);
      expect(response.status).toBe(200);
      expect(response.headers.get("RateLimit")).toBeNull();
    }
    for (let i = 0; i < 20; i++)
      expect((await fetchWorker("/api/health", { headers: { "X-Service-Key": SERVICE.Authorization.slice(7) } }, tiny)).status).toBe(200);
  });

  it("uses the config's policy by default and can be turned off", async () => {
    const response = await fetchWorker("/api/health", { headers: await as("gina") });
    expect(parseSfList(response.headers.get("RateLimit-Policy")!)).toEqual([{ value: "api", params: { q: 10_000, w: 60 } }]);
    const off = await fetchWorker("/api/health", { headers: await as("gina") }, { RATE_LIMIT_PLATFORM: "off" });
    expect(off.headers.get("RateLimit-Policy")).toBeNull();
  });

  it("keeps the rate-limit API's own headers on its responses", async () => {
    const response = await fetchWorker("/api/ratelimit/hank:x", {
      method: "POST",
      body: JSON.stringify({ policy: "actions" }),
      headers: { ...(await as("hank")), "Content-Type": "application/json" },
    });
    expect(parseSfList(response.headers.get("RateLimit-Policy")!)[0]!.value).toBe("actions");
  });

  it("answers a malformed RATE_LIMIT_PLATFORM with a clear 500", async () => {
    const response = await fetchWorker("/api/health", { headers: await as("ivy") }, { RATE_LIMIT_PLATFORM: "lots" });
    expect(response.status).toBe(500);
    expect((await problem(response)).code).toBe("RATE_LIMIT_MISCONFIGURED");
  });
});
