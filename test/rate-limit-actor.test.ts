import { env } from "cloudflare:workers";
import { abortAllDurableObjects, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import config from "../actorbase.config";
import { limiterName } from "../objects/rate-limiter/contract";
import { evaluate } from "../objects/rate-limiter/decision";
import type { RateLimiterDO } from "../objects/rate-limiter/rate-limiter-do";
import { LimitStore } from "../objects/rate-limiter/storage";
import { UNSTORED_AHEAD_MS } from "../objects/rate-limiter/unstored";
import type { Policy } from "../shared/rate-limit/policy";
import { SERVICE, jsonInit } from "./helpers/http";
import { fetchWorker as call } from "./helpers/worker-fetch";

const ALGORITHMS = ["gcra", "token_bucket", "sliding_window", "fixed_window"] as const;

async function post(key: string, body: unknown): Promise<{ allowed: boolean; remaining: number }> {
  const response = await call(`/api/ratelimit/${key}`, jsonInit("POST", body, SERVICE));
  expect(response.status).toBe(200);
  return (await response.json()) as { allowed: boolean; remaining: number };
}

/** An actor by name: tests that watch one actor's storage and alarm use a name no key maps to, and call its RPCs. */
function stub(name: string): DurableObjectStub<RateLimiterDO> {
  return env.RATE_LIMITER.getByName(name);
}

/** The actor serving API key `key` under the shipped config. */
const actorOfKey = (key: string) => stub(limiterName(`key:${key}`, config.rateLimits.shards));

const policy = (limit: number, periodMs: number, algorithm: Policy["algorithm"] = "gcra"): Policy => ({
  name: "p",
  inline: true,
  algorithm,
  limit,
  periodMs,
  burst: 0,
  aligned: false,
});

const decide = (
  actor: DurableObjectStub<RateLimiterDO>,
  key: string,
  p: Policy,
  cost = 1,
  mode: "enforce" | "dry_run" = "enforce",
  requestId: string | null = null,
) => actor.decide(key, { policies: [p], cost, mode, requestId });

const count = (state: DurableObjectState, table: string) =>
  state.storage.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM ${table}`).one().n;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("RateLimiterDO under concurrency", () => {
  it.each(ALGORITHMS)("%s: 200 concurrent calls with limit 50 admit exactly 50", async (algorithm) => {
    const body = { limit: 50, periodMs: 3_600_000, algorithm };
    const results = await Promise.all(Array.from({ length: 200 }, () => post(`conc-${algorithm}`, body)));
    expect(results.filter((r) => r.allowed)).toHaveLength(50);
    expect(
      results
        .filter((r) => r.allowed)
        .map((r) => r.remaining)
        .sort((a, b) => a - b),
    ).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it.each(ALGORITHMS)("%s: 200 concurrent calls with costs 1 and 2 admit 49 or 50 units, never more", async (algorithm) => {
    const body = (cost: number) => ({ limit: 50, periodMs: 3_600_000, algorithm, cost });
    const costs = Array.from({ length: 200 }, (_, i) => 1 + (i % 2));
    const results = await Promise.all(costs.map((cost) => post(`mixed-${algorithm}`, body(cost))));
    const admitted = results.reduce((sum, r, i) => sum + (r.allowed ? costs[i]! : 0), 0);
    // Serial decisions stop only when what is left is below the asked cost (at most 1 unit left).
    expect(admitted).toBeGreaterThanOrEqual(49);
    expect(admitted).toBeLessThanOrEqual(50);
    const left = await post(`mixed-${algorithm}`, body(0));
    expect(left.remaining).toBe(50 - admitted);
  });

  it("200 concurrent calls on two policies admit exactly the tighter limit and debit the other the same", async () => {
    const body = {
      policies: [
        { limit: 50, periodMs: 3_600_000 },
        { limit: 500, periodMs: 3_600_000, algorithm: "sliding_window" },
      ],
    };
    const results = await Promise.all(Array.from({ length: 200 }, () => post("conc-multi", body)));
    expect(results.filter((r) => r.allowed)).toHaveLength(50);
    const peek = await call("/api/ratelimit/conc-multi?limit=500&periodMs=3600000&algorithm=sliding_window", { headers: SERVICE });
    expect(((await peek.json()) as { remaining: number }).remaining).toBe(450);
  });
});

describe("RateLimiterDO state", () => {
  it.each(ALGORITHMS)("%s: keeps the count when the actor restarts mid-window", async (algorithm) => {
    const body = { limit: 10, periodMs: 3_600_000, algorithm, cost: 7 };
    expect((await post(`restart-${algorithm}`, body)).remaining).toBe(3);
    await abortAllDurableObjects();
    const after = await post(`restart-${algorithm}`, { ...body, cost: 4 });
    expect(after).toMatchObject({ allowed: false, remaining: 3 });
  });

  it.each(ALGORITHMS)(
    "%s: with a reserve, commits a fraction of decisions and a restart costs at most a hundredth of capacity",
    async (algorithm) => {
      const key = `reserve-${algorithm}`;
      const body = { limit: 1_000, periodMs: 3_600_000, algorithm };
      const rows = () =>
        runInDurableObject(actorOfKey(key), (_instance, state) =>
          state.storage.sql
            .exec<{ state: string }>("SELECT state FROM _limit_state WHERE key = ?", `key:${key}`)
            .toArray()
            .map((row) => row.state),
        );
      const writesEveryChange = algorithm === "sliding_window" || algorithm === "token_bucket";
      // Past the reserve (10 units; within it a new key may have no row, see the next test) the key is written.
      expect((await post(key, { ...body, cost: 11 })).remaining).toBe(989);
      const first = await rows();
      expect(first).toHaveLength(1);
      for (let i = 0; i < 5; i++) await post(key, body);
      const exact = (await post(key, { ...body, cost: 0 })).remaining;
      expect(exact).toBe(984);
      if (writesEveryChange) {
        // No reserve (see reserve.ts): every admitted decision is written, so a restart is exact.
        expect(await rows()).not.toEqual(first);
      } else {
        // Written once, ahead by the reserve: the next decisions commit nothing.
        expect(await rows()).toEqual(first);
      }
      await abortAllDurableObjects();
      const after = (await post(key, { ...body, cost: 0 })).remaining;
      expect(after).toBeLessThanOrEqual(exact);
      expect(after).toBeGreaterThanOrEqual(exact - 10);
      // Both stored their first 11 units plus the reserve (21 used): fixed_window debited, gcra owed on reload.
      expect(after).toBe({ gcra: 979, fixed_window: 979, token_bucket: 984, sliding_window: 984 }[algorithm]);
    },
  );

  it("gcra: a new key writes no row within its reserve, and a restart counts the reserve as spent", async () => {
    const actor = () => stub("test:unstored-gcra");
    const p = policy(1_000, 3_600_000); // reserve 10
    const stored = () =>
      runInDurableObject(actor(), (_instance, state) => ({
        rows: count(state, "_limit_state"),
        until: state.storage.sql.exec<{ value: number }>("SELECT value FROM _meta WHERE key = 'unstored_until'").toArray()[0]?.value,
        alarm: state.storage.getAlarm(),
      }));
    const started = Date.now();
    expect(await decide(actor(), "k", p, 5)).toMatchObject({ ok: true, value: { remaining: 995 } });
    expect(await decide(actor(), "k", p, 5)).toMatchObject({ ok: true, value: { remaining: 990 } });
    const before = await stored();
    // No row; the time until which states without one may exist is recorded once, with the alarm that clears it.
    expect(before.rows).toBe(0);
    expect(before.until).toBeGreaterThan(started);
    expect(await before.alarm).not.toBeNull();
    await abortAllDurableObjects();
    // The restarted actor counts the reserve as spent for the key (10 units, here all of them)...
    expect(await decide(actor(), "k", p, 0)).toMatchObject({ ok: true, value: { remaining: 990 } });
    // ... and for a key it cannot tell from one it lost, until the recorded time.
    expect(await decide(actor(), "other", p, 0)).toMatchObject({ ok: true, value: { remaining: 990 } });
    // The next unit is past the reserve: that decision writes the key's row.
    expect(await decide(actor(), "k", p)).toMatchObject({ ok: true, value: { remaining: 989 } });
    expect((await stored()).rows).toBe(1);
  });

  it("drops the recorded unstored time once past it, and then the database", async () => {
    const p = policy(1_000, 60_000); // a unit every 60 ms, reserve 10
    const t0 = 1_000_000;
    await runInDurableObject(stub("test:unstored-sweep"), (_instance, state) => {
      const store = new LimitStore(state.storage);
      const { nextStates } = evaluate([p], store.readStates("k", [p], t0), t0, 1, true);
      // Ten units spent would replenish by t0 + 600 ms: the time is recorded a minute past that.
      const until = t0 + 600 + UNSTORED_AHEAD_MS;
      expect(store.write("k", [{ policy: p, state: nextStates![0] }])).toBe(until);
      expect(count(state, "_limit_state")).toBe(0);
      // Another new key needing no later time moves nothing.
      const other = evaluate([p], store.readStates("other", [p], t0 + 100), t0 + 100, 1, true).nextStates![0];
      expect(store.write("other", [{ policy: p, state: other }])).toBeNull();
      // Restarted before that time, the actor loads a key without a row as having spent its reserve.
      expect(evaluate([p], new LimitStore(state.storage).readStates("k", [p], until - 1), until - 1, 0, false).decision.remaining).toBe(
        990,
      );
      expect(store.sweep(until - 1, 60_000)).toEqual({ next: until, more: false });
      expect(store.sweep(until, 60_000)).toEqual({ next: null, more: false });
      expect(count(state, "_meta")).toBe(0);
      // Restarted now, it loads the key fresh.
      expect(evaluate([p], new LimitStore(state.storage).readStates("k", [p], until), until, 0, false).decision.remaining).toBe(1_000);
    });
  });

  it("cleanup forgets keys without a row from memory once idle and replenished, and keeps the ones still spent", async () => {
    const fast = policy(1_000, 60_000); // a unit every 60 ms
    const slow = policy(1_000, 86_400_000); // a unit every 86.4 s
    const t0 = 1_000_000;
    await runInDurableObject(stub("test:sweep-memory"), (_instance, state) => {
      const store = new LimitStore(state.storage);
      const spend = (key: string, p: Policy, now: number) => {
        const { nextStates } = evaluate([p], store.readStates(key, [p], now), now, 1, true);
        store.write(key, [{ policy: p, state: nextStates![0] }]);
      };
      const remaining = (key: string, p: Policy, now: number) =>
        evaluate([p], store.readStates(key, [p], now, false), now, 0, false).decision.remaining;
      spend("replenished", fast, t0);
      spend("still-spent", slow, t0);
      spend("recent", fast, t0 + 30_000);
      expect(count(state, "_limit_state")).toBe(0);
      expect(store.keysInMemory).toBe(3);
      // A minute later: the first key has replenished and goes; the second still owes its unit, the third was used since.
      store.sweep(t0 + 60_000, 60_000);
      expect(store.keysInMemory).toBe(2);
      expect(remaining("replenished", fast, t0 + 60_000)).toBe(1_000);
      expect(remaining("still-spent", slow, t0 + 60_000)).toBe(999);
      // Once replenished and idle, the others go too.
      store.sweep(t0 + 100_000, 60_000);
      expect(store.keysInMemory).toBe(0);
      expect(remaining("still-spent", slow, t0 + 100_000)).toBe(1_000);
    });
  });

  it("keeps requestId answers across a restart", async () => {
    const body = { limit: 10, periodMs: 3_600_000, cost: 4, requestId: "restart-req" };
    await post("restart-idem", body);
    await abortAllDurableObjects();
    const replay = (await post("restart-idem", body)) as { remaining: number; replayed?: boolean };
    expect(replay).toMatchObject({ remaining: 6, replayed: true });
  });

  it("drops an idle key's state once it has fully replenished, and keeps its remembered answer", async () => {
    // A fresh stub after every restart: one from before it is broken.
    const actor = () => stub("test:alarm-idle");
    await decide(actor(), "k", policy(2, 1_000), 2, "enforce", "r1");
    await runInDurableObject(actor(), async (_instance, state) => {
      expect(count(state, "_limit_state")).toBe(1);
      expect(await state.storage.getAlarm()).not.toBeNull();
    });
    // Restarted (as after an eviction), the actor has no memory of the key being in use: its alarm cleans up.
    await abortAllDurableObjects();
    // Not yet replenished: the alarm keeps the state and reschedules.
    expect(await runDurableObjectAlarm(actor())).toBe(true);
    await runInDurableObject(actor(), async (_instance, state) => {
      expect(count(state, "_limit_state")).toBe(1);
      expect(await state.storage.getAlarm()).not.toBeNull();
    });
    await sleep(1_100);
    expect(await runDurableObjectAlarm(actor())).toBe(true);
    // The state is idle and gone; the requestId answer stays for 60 s, and so do the database and its alarm.
    await runInDurableObject(actor(), async (_instance, state) => {
      expect(count(state, "_limit_state")).toBe(0);
      expect(count(state, "_request")).toBe(1);
      expect(await state.storage.getAlarm()).not.toBeNull();
    });
  });

  it("cleanup keeps a row whose exact state still owes units spent since the write, and counts a restarted actor's reserve once", async () => {
    const p = policy(1_000, 60_000); // a unit every 60 ms, reserve 10
    const t0 = 1_000_000;
    await runInDurableObject(stub("test:sweep-owed"), (_instance, state) => {
      const store = new LimitStore(state.storage);
      const admit = (now: number, cost: number) => {
        const { nextStates } = evaluate([p], store.readStates("k", [p], now), now, cost, true);
        return store.write("k", [{ policy: p, state: nextStates![0] }]);
      };
      const rows = () =>
        state.storage.sql
          .exec<{ idle_at: number }>("SELECT idle_at FROM _limit_state")
          .toArray()
          .map((row) => row.idle_at);
      // 11 units at t0 are past the reserve: written owing 11 + 10 units, replenished at t0 + 1,260 ms if nothing more is spent.
      expect(admit(t0, 11)).toBe(t0 + 1_260);
      // At t0 + 1,200 ms, 5 units: the row still covers them (no write), and the exact state is replenished only at t0 + 1,500.
      expect(admit(t0 + 1_200, 5)).toBeNull();
      // Swept as unused (idle for 0 ms is enough): the row is rewritten as the exact state.
      expect(store.sweep(t0 + 1_300, 0)).toEqual({ next: t0 + 1_500, more: false });
      expect(rows()).toEqual([t0 + 1_500]);
      expect(evaluate([p], store.readStates("k", [p], t0 + 1_300), t0 + 1_300, 0, false).decision.remaining).toBe(996);
      expect(store.sweep(t0 + 1_500, 0)).toEqual({ next: null, more: false });
      expect(rows()).toEqual([]);
      // Written again at t1 owing 11 + 10 units; then the actor restarts (a new store knows only the row).
      const t1 = t0 + 10_000;
      expect(admit(t1, 11)).toBe(t1 + 1_260);
      // It counts the reserve as spent from when it reloads the row, once.
      expect(new LimitStore(state.storage).sweep(t1 + 1_300, 0).next).toBe(t1 + 1_900);
      expect(rows()).toEqual([t1 + 1_900]);
      // Restarted again, it finds the row as the last sweep left it and drops it on time.
      expect(new LimitStore(state.storage).sweep(t1 + 1_900, 0).next).toBeNull();
      expect(rows()).toEqual([]);
    });
  });

  it("keeps the due state of a key in use, due again a while later, while expired answers go", async () => {
    const p = policy(1_000, 60_000);
    const t0 = 1_000_000;
    await runInDurableObject(stub("test:sweep-in-use"), (_instance, state) => {
      const store = new LimitStore(state.storage);
      const { nextStates } = evaluate([p], store.readStates("k", [p], t0), t0, 11, true);
      // The answer expires at t0 + 1,000; the row (11 units past the reserve, and a reserve of 10) replenishes at t0 + 1,260.
      expect(store.write("k", [{ policy: p, state: nextStates![0] }], { requestId: "r", decision: {}, expiresAt: t0 + 1_000 })).toBe(
        t0 + 1_000,
      );
      // Past the answer's expiry it goes, in use or not.
      expect(store.sweep(t0 + 1_000, 60_000)).toEqual({ next: t0 + 1_260, more: false });
      expect([count(state, "_limit_state"), count(state, "_request")]).toEqual([1, 0]);
      // Used at t0, within a minute: the due state stays, due again a minute after this sweep.
      expect(store.sweep(t0 + 1_300, 60_000)).toEqual({ next: t0 + 61_300, more: false });
      expect(count(state, "_limit_state")).toBe(1);
      // Unused for a minute: the replenished state goes too, and nothing is left.
      expect(store.sweep(t0 + 61_300, 60_000)).toEqual({ next: null, more: false });
      expect(count(state, "_limit_state")).toBe(0);
    });
  });

  it("keeps the database of an actor used within the last minute when its alarm finds nothing left", async () => {
    const actor = stub("test:alarm-reset");
    await decide(actor, "k", policy(2, 60_000));
    await actor.reset("k", null);
    expect(await runDurableObjectAlarm(actor)).toBe(true);
    await runInDurableObject(actor, async (_instance, state) => {
      // Nothing is left, but the actor was just used: the tables and a later alarm stay.
      expect(count(state, "_limit_state")).toBe(0);
      expect(await state.storage.getAlarm()).toBeGreaterThan(Date.now());
    });
    expect(await decide(actor, "k", policy(2, 60_000))).toMatchObject({ ok: true, value: { allowed: true, remaining: 1 } });
  });

  it("schedules cleanup no sooner than a minute away, so a busy key is not recreated on every decision", async () => {
    const before = Date.now();
    const actor = stub("test:alarm-delay");
    await decide(actor, "k", policy(1_000_000, 1_000)); // replenished 1 ms later
    await runInDurableObject(actor, async (_instance, state) => {
      expect(await state.storage.getAlarm()).toBeGreaterThanOrEqual(before + 60_000);
    });
  });

  it("keeps the state of a key used within the last minute when its alarm finds it replenished, so the next decision writes nothing", async () => {
    const actor = stub("test:alarm-busy");
    const p = policy(1_000, 50); // replenished within 50 ms; a reserve of 10
    const rows = () =>
      runInDurableObject(actor, (_instance, state) =>
        state.storage.sql
          .exec<{ state: string }>("SELECT state FROM _limit_state")
          .toArray()
          .map((row) => row.state),
      );
    await decide(actor, "k", p, 11); // past the reserve: written
    const written = await rows();
    expect(written).toHaveLength(1);
    await sleep(100);
    expect(await runDurableObjectAlarm(actor)).toBe(true);
    await runInDurableObject(actor, async (_instance, state) => {
      expect(await state.storage.getAlarm()).toBeGreaterThan(Date.now());
    });
    // The replenished row stays as it was, and still covers the next decision: nothing is written.
    expect(await rows()).toEqual(written);
    expect(await decide(actor, "k", p)).toMatchObject({ ok: true, value: { allowed: true, remaining: 999 } });
    expect(await rows()).toEqual(written);
  });

  it("drops the whole database when nothing is left, runs twice safely, and works again afterwards", async () => {
    // A fresh stub after every restart: one from before it is broken.
    const actor = () => stub("test:alarm-gone");
    await decide(actor(), "a", policy(2, 50));
    await decide(actor(), "b", policy(2, 50));
    await sleep(100);
    // The actor restarted (as after an eviction), so nothing in memory says it is in use.
    await abortAllDurableObjects();
    expect(await runDurableObjectAlarm(actor())).toBe(true);
    await runInDurableObject(actor(), async (instance, state) => {
      const tables = state.storage.sql
        .exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '\\_%' ESCAPE '\\'")
        .toArray();
      expect(tables).toEqual([]);
      expect(await state.storage.getAlarm()).toBeNull();
      await instance.alarm(); // a second run (say, a retried alarm) finds nothing and stays harmless
      expect(await state.storage.getAlarm()).toBeNull();
    });
    expect(await decide(actor(), "a", policy(2, 50))).toMatchObject({ ok: true, value: { allowed: true, remaining: 1 } });
  });

  it("peek, dry_run, requestId lookups and resets write nothing, so unused keys leave no storage", async () => {
    const actor = stub("test:no-writes");
    const p = policy(2, 60_000);
    await decide(actor, "k", p, 1, "dry_run");
    await decide(actor, "k", p, 0);
    await actor.peek("k", [p]);
    await actor.reset("k", null);
    await decide(actor, "k", p, 1, "dry_run", "r1");
    await runInDurableObject(actor, async (instance, state) => {
      expect(
        state.storage.sql.exec("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name LIKE '\\_%' ESCAPE '\\'").one().n,
      ).toBe(0);
      expect(await state.storage.getAlarm()).toBeNull();
      await instance.alarm(); // an alarm on an empty actor is harmless too
    });
    // A denial writes nothing either: the state stays as the last admission left it.
    await decide(actor, "k", p, 2);
    await decide(actor, "k", p);
    await runInDurableObject(actor, async (_instance, state) => {
      expect(count(state, "_limit_state")).toBe(1);
    });
  });

  it("answers RPC errors as results, not exceptions", async () => {
    const actor = stub("test:rpc-errors");
    expect(await decide(actor, "k", policy(2, 1000), 3)).toMatchObject({
      ok: false,
      problem: { status: 422, code: "COST_EXCEEDS_CAPACITY" },
    });
    expect(await decide(actor, "", policy(2, 1000))).toMatchObject({ ok: false, problem: { status: 400, code: "INVALID_REQUEST" } });
  });
});
