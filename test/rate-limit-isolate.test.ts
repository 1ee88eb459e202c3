import { describe, expect, it } from "vitest";
import type { Lease } from "../shared/rate-limit/decision";
import { IsolateLimiter, LEASE_WAIT_MS, type LeaseFetcher, MAX_WAITS, leaseTtl, maxLease } from "../workers/middleware/rate-limit-isolate";
import { HeldUnits, LEASE_LOST_MS, LeaseCalls } from "../workers/middleware/rate-limit-slot";
import { fakeActor, policy } from "./helpers/lease-actor";

const never = () => new Promise<Lease>(() => {});

describe("the isolate tier's leases", () => {
  it("admits from units held without calling the actor, counting them in what it reports as remaining", async () => {
    const limiter = new IsolateLimiter(() => 0);
    const actor = fakeActor(1_000);
    const admit = () => limiter.admit("sub:held", policy(100_000), actor.fetch, null);
    expect(await admit()).toMatchObject({ allowed: true, calledActor: true, remaining: 999 }); // lease of 1
    expect(await admit()).toMatchObject({ allowed: true, calledActor: true, remaining: 997 + 1 }); // lease of 2, one held
    expect(await admit()).toMatchObject({ allowed: true, calledActor: true, remaining: 993 + 4 }); // spends it, tops up 4
    expect(actor.calls).toEqual([1, 2, 4]);
    expect(await admit()).toMatchObject({ allowed: true, calledActor: false, remaining: 993 + 3 });
    expect(await admit()).toMatchObject({ allowed: true, calledActor: false, remaining: 993 + 2 });
    expect(actor.calls).toEqual([1, 2, 4]);
  });

  it("sizes each round from how the last lease went: doubled when used up in time, halved when units expired, kept when it lapsed empty", async () => {
    let now = 0;
    const limiter = new IsolateLimiter(() => now);
    const actor = fakeActor(1_000_000);
    const admit = () => limiter.admit("sub:sizes", policy(100_000), actor.fetch, null); // leases last 1 s
    await admit(); // lease of 1, used at once
    now = 1_500;
    await admit(); // the lease of 1 lapsed with nothing left over: 1 again
    await admit(); // that one was used up in time: 2
    expect(actor.calls).toEqual([1, 1, 2]);
    for (let i = 0; i < 4; i++) await admit(); // spends the 1 held (top-up 4) and 3 of the 4 (top-up 8)
    expect(actor.calls).toEqual([1, 1, 2, 4, 8]);
    now = 5_000; // 9 units expire unused
    await admit();
    expect(actor.calls).toEqual([1, 1, 2, 4, 8, 4]);
  });

  it("answers a request that starts a top-up without waiting for it when given a background, and spends what it brings", async () => {
    const limiter = new IsolateLimiter(() => 0);
    const actor = fakeActor(1_000);
    let release: (() => void) | null = null;
    const slow: LeaseFetcher = async (want) => {
      if (actor.calls.length >= 2) await new Promise<void>((resolve) => (release = resolve));
      return actor.fetch(want);
    };
    const background: Promise<void>[] = [];
    const admit = () => limiter.admit("sub:background", policy(100_000), slow, null, (work) => background.push(work));
    await admit(); // lease of 1
    await admit(); // lease of 2, one held
    // Spends the unit held and starts a top-up of 4 that has not answered: the request is answered anyway.
    expect(await admit()).toMatchObject({ allowed: true, calledActor: true });
    expect(background).toHaveLength(1);
    expect(release).not.toBeNull();
    (release as unknown as () => void)();
    await background[0];
    expect(actor.calls).toEqual([1, 2, 4]);
    expect(await admit()).toMatchObject({ allowed: true, calledActor: false });
  });

  it("answers synchronously (no promise) from a unit held when top-ups go to the background", async () => {
    const limiter = new IsolateLimiter(() => 0);
    const actor = fakeActor(1_000);
    const background: Promise<void>[] = [];
    const admit = () => limiter.admit("sub:sync", policy(100_000), actor.fetch, null, (work) => background.push(work));
    const first = admit();
    expect(first).toBeInstanceOf(Promise); // nothing held: the actor is asked
    await first;
    await admit(); // lease of 2, one held
    const fromHeld = admit(); // spends it and starts a top-up of 4 in the background
    expect(fromHeld).not.toBeInstanceOf(Promise);
    expect(fromHeld).toMatchObject({ allowed: true, calledActor: true });
    await Promise.all(background);
    expect(admit()).toMatchObject({ allowed: true, calledActor: false });
  });

  it("costs a caller at a few requests a second under the shipped policy few actor calls: leases live up to 5 s", async () => {
    let now = 0;
    const limiter = new IsolateLimiter(() => now);
    const actor = fakeActor(1_000_000);
    let calls = 0;
    for (let i = 0; i < 360; i++) {
      now += 166; // 6 requests a second for a minute, under 10,000 a minute
      if ((await limiter.admit("sub:steady-slow", policy(10_000, 60_000), actor.fetch, null)).calledActor) calls++;
    }
    // 19 calls with leases of up to 5 s; leases of at most 1 s (the limit before) made 68.
    expect(calls).toBeLessThan(360 / 10);
  });

  it("never leases more than maxLease: 1% of capacity, between 1 and 128", async () => {
    expect([maxLease(policy(150)), maxLease(policy(10_000)), maxLease(policy(1_000_000))]).toEqual([1, 100, 128]);
    expect([leaseTtl(policy(10, 50)), leaseTtl(policy(10, 5_000)), leaseTtl(policy(10, 10_000)), leaseTtl(policy(10, 60_000))]).toEqual([
      10, 500, 1_000, 5_000,
    ]);
    let now = 0;
    const limiter = new IsolateLimiter(() => now);
    const actor = fakeActor(1_000_000);
    for (let i = 0; i < 2_000; i++) {
      now += 1;
      await limiter.admit("sub:cap", policy(10_000), actor.fetch, null);
    }
    expect(actor.calls.slice(0, 8)).toEqual([1, 2, 4, 8, 16, 32, 64, 100]);
    expect(Math.max(...actor.calls)).toBe(100);
  });

  it("waits on another request's sized lease at most MAX_WAITS × LEASE_WAIT_MS, then asks for one unit itself", async () => {
    const limiter = new IsolateLimiter(() => 0);
    const actor = fakeActor(1_000);
    let hang = false;
    const fetch: LeaseFetcher = (want) => (hang ? never() : actor.fetch(want));
    await limiter.admit("sub:waits", policy(100_000), fetch, null); // lease of 1
    hang = true;
    void limiter.admit("sub:waits", policy(100_000), fetch, null); // the lease of 2 never settles
    hang = false;
    const started = Date.now();
    expect(await limiter.admit("sub:waits", policy(100_000), fetch, null)).toMatchObject({ allowed: true, calledActor: true });
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(MAX_WAITS * LEASE_WAIT_MS - 5);
    expect(waited).toBeLessThan(MAX_WAITS * LEASE_WAIT_MS + 500);
    expect(actor.calls).toEqual([1, 1]); // the hung lease of 2 never reached the fake actor
  });

  it("presumes a lease call lost after LEASE_LOST_MS and starts a sized round again, without waiting on it", async () => {
    let now = 0;
    const limiter = new IsolateLimiter(() => now);
    const actor = fakeActor(1_000);
    const asked: number[] = [];
    let hang = false;
    const fetch: LeaseFetcher = (want) => {
      asked.push(want);
      return hang ? never() : actor.fetch(want);
    };
    const admit = () => limiter.admit("sub:lost-call", policy(100_000), fetch, null);
    await admit(); // lease of 1
    hang = true;
    void admit(); // the lease of 2 never settles
    hang = false;
    now = LEASE_LOST_MS; // still under way: this request waits on it, then asks for one unit
    await admit();
    expect(asked).toEqual([1, 2, 1]);
    now = LEASE_LOST_MS + 1; // presumed lost: a new round, sized from the single unit used up in time
    const started = Date.now();
    expect(await admit()).toMatchObject({ allowed: true, calledActor: true });
    expect(Date.now() - started).toBeLessThan(LEASE_WAIT_MS);
    expect(asked).toEqual([1, 2, 1, 4]);
  });
});

describe("the isolate tier's blocks", () => {
  it("denies a blocked credential early and without the actor, and releases it at its retry time", async () => {
    let now = 0;
    const limiter = new IsolateLimiter(() => now);
    const actor = fakeActor(1);
    const admit = () => limiter.admit("sub:blocked", policy(150), actor.fetch, "Bearer blocked");
    expect(limiter.anyBlocked).toBe(false);
    expect(await admit()).toMatchObject({ allowed: true });
    expect(await admit()).toMatchObject({ allowed: false, calledActor: true, retryAfterMs: 5_000 });
    expect(limiter.anyBlocked).toBe(true);
    expect(limiter.blockedFor("Bearer blocked")).toBe(5_000);
    expect(limiter.blockedFor("Bearer someone-else")).toBe(0);
    now = 4_999;
    expect(limiter.blockedFor("Bearer blocked")).toBe(1);
    expect(await admit()).toMatchObject({ allowed: false, calledActor: false, retryAfterMs: 1 });
    expect(actor.calls).toEqual([1, 1]);
    now = 5_000;
    expect(limiter.blockedFor("Bearer blocked")).toBe(0);
    expect(limiter.anyBlocked).toBe(false);
    actor.state.units = 1;
    expect(await admit()).toMatchObject({ allowed: true, calledActor: true });
  });

  it("forgets idle callers before busy ones when its memory is full", async () => {
    let now = 0;
    const limiter = new IsolateLimiter(() => now, 2);
    const blocked = fakeActor(0);
    const busy = fakeActor(1_000);
    await limiter.admit("sub:blocked-first", policy(100_000), blocked.fetch, null); // blocked until t = 5,000
    for (let i = 0; i < 3; i++) await limiter.admit("sub:idle-later", policy(100_000), busy.fetch, null); // leases 1, 2, top-up 4
    now = 1_500; // the idle caller's units have expired; the other is still blocked
    await limiter.admit("sub:third", policy(100_000), busy.fetch, null);
    expect(await limiter.admit("sub:blocked-first", policy(100_000), blocked.fetch, null)).toMatchObject({
      allowed: false,
      calledActor: false,
    });
    busy.calls.length = 0;
    await limiter.admit("sub:idle-later", policy(100_000), busy.fetch, null);
    expect(busy.calls).toEqual([1]); // forgotten: a fresh lease of 1, not its halved lease of 2
  });
});

describe("HeldUnits", () => {
  it("spends the batch that expires first, and adds a third lease to it so no unit outlives its lease", () => {
    const units = new HeldUnits();
    units.add(2, 1_000, 0);
    units.add(3, 500, 0);
    expect(units.take(0)).toBe(true); // from the batch expiring at 500
    expect([units.usable(0), units.usable(500)]).toEqual([4, 2]);
    units.add(5, 2_000, 0); // two batches held: the 5 join the one expiring at 500
    expect([units.usable(0), units.usable(500), units.leasedUntil]).toEqual([9, 2, 2_000]);
  });

  it("keeps a lease with no units over for its expiry alone", () => {
    const units = new HeldUnits();
    units.add(0, 1_000, 0);
    expect([units.take(0), units.anyLeft, units.leasedUntil]).toEqual([false, false, 1_000]);
  });
});

describe("LeaseCalls", () => {
  it("counts a call as under way until LEASE_LOST_MS, and lets requests wait only on sized ones", () => {
    const calls = new LeaseCalls();
    const single = calls.start("refill", 1, never(), 0);
    expect([calls.underWay(0), calls.underWay(0, "top-up"), calls.waitable(0)]).toEqual([true, false, null]);
    calls.end(single);
    const sized = calls.start("top-up", 4, never(), 0);
    expect([calls.underWay(LEASE_LOST_MS, "top-up"), calls.waitable(LEASE_LOST_MS)]).toEqual([true, sized]);
    expect([calls.underWay(LEASE_LOST_MS + 1), calls.waitable(LEASE_LOST_MS + 1)]).toEqual([false, null]);
  });

  it("lets requests wait on the latest sized call only while it is under way", () => {
    const calls = new LeaseCalls();
    const refill = calls.start("refill", 2, never(), 0);
    const topUp = calls.start("top-up", 4, never(), 10);
    expect(calls.waitable(10)).toBe(topUp);
    calls.end(topUp);
    expect(calls.waitable(10)).toBeNull(); // its units were what there was to wait for
    calls.end(refill);
    expect(calls.underWay(10)).toBe(false);
  });
});
