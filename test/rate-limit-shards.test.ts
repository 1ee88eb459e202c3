import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import config from "../actorbase.config";
import { limiterFor, limiterName } from "../objects/rate-limiter/contract";
import { evaluate } from "../objects/rate-limiter/decision";
import type { RateLimiterDO } from "../objects/rate-limiter/rate-limiter-do";
import { LimitStore, SWEEP_BATCH } from "../objects/rate-limiter/storage";
import { DEFAULT_RATE_LIMIT_SHARDS } from "../shared/config";
import type { Policy } from "../shared/rate-limit/policy";
import { unwrap } from "../shared/rpc";

const policy = (limit: number, periodMs: number): Policy => ({
  name: "p",
  inline: true,
  algorithm: "gcra",
  limit,
  periodMs,
  burst: 0,
  aligned: false,
});

const stub = (name: string): DurableObjectStub<RateLimiterDO> => env.RATE_LIMITER.getByName(name);
const count = (state: DurableObjectState, table: string) =>
  state.storage.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM ${table}`).one().n;

describe("keys spread over shards", () => {
  it("ships 64 shards and maps every key to one of them, the same one every time, evenly", () => {
    expect(config.rateLimits.shards).toBe(DEFAULT_RATE_LIMIT_SHARDS);
    expect(DEFAULT_RATE_LIMIT_SHARDS).toBe(64);
    const perShard = new Map<string, number>();
    for (let i = 0; i < 64_000; i++) {
      const name = limiterName(`platform:ip:10.0.${i >> 8}.${i & 255}`, 64);
      expect(name).toMatch(/^limits:64:(\d|[1-5]\d|6[0-3])$/);
      perShard.set(name, (perShard.get(name) ?? 0) + 1);
    }
    expect(perShard.size).toBe(64);
    // 1,000 keys a shard on average; a fair hash stays within a few percent of it.
    expect(Math.min(...perShard.values())).toBeGreaterThan(900);
    expect(Math.max(...perShard.values())).toBeLessThan(1_100);
    expect(limiterName("key:abc", 64)).toBe(limiterName("key:abc", 64));
    // The count is part of the name: another count never shares an actor with this one.
    expect(limiterName("key:abc", 8)).toMatch(/^limits:8:[0-7]$/);
    // 0 shards: every key is its own actor.
    expect(limiterName("key:abc", 0)).toBe("key:abc");
  });

  it("decides many keys in one actor exactly: 20 keys, 40 concurrent calls each, limit 10 admits 10 per key", async () => {
    const actor = stub("test:many-keys");
    const p = policy(10, 3_600_000);
    const calls = Array.from({ length: 800 }, (_, i) =>
      actor.decide(`k${i % 20}`, { policies: [p], cost: 1, mode: "enforce", requestId: null }),
    );
    const results = (await Promise.all(calls)).map((r) => unwrap(r));
    for (let k = 0; k < 20; k++) {
      const admitted = results.filter((r, i) => i % 20 === k && r.allowed);
      expect(admitted).toHaveLength(10);
    }
    // A key's reset forgets that key only.
    await actor.reset("k0", null);
    expect(unwrap(await actor.peek("k0", [p])).remaining).toBe(10);
    expect(unwrap(await actor.peek("k1", [p])).remaining).toBe(0);
  });

  it("with 0 shards serves a key from an actor of its own", async () => {
    const p = policy(5, 3_600_000);
    expect(
      unwrap(await limiterFor(env, "key:own-actor", 0).decide({ policies: [p], cost: 2, mode: "enforce", requestId: null })).remaining,
    ).toBe(3);
    await runInDurableObject(stub("key:own-actor"), (_instance, state) => {
      expect(state.storage.sql.exec("SELECT key FROM _limit_state").toArray()).toEqual([{ key: "key:own-actor" }]);
    });
  });

  it("a key forgotten from memory starts again from its stored state, and forgetting it again and again costs nothing", async () => {
    const p = policy(1_000, 3_600_000); // reserve 10
    await runInDurableObject(stub("test:forget"), (_instance, state) => {
      const store = new LimitStore(state.storage, 2);
      const t0 = 1_000_000;
      const admit = (key: string, now: number, cost: number) => {
        const { decision, nextStates } = evaluate([p], store.readStates(key, [p], now), now, cost, true);
        if (nextStates) store.write(key, [{ policy: p, state: nextStates[0] }]);
        return decision;
      };
      expect(admit("a", t0, 5).remaining).toBe(995);
      admit("b", t0, 1);
      admit("c", t0, 1); // "a" is the least recently used of three: forgotten, its exact state written back
      expect(admit("a", t0, 0).remaining).toBe(995);
      // Spending the rest with "a" forgotten between every two decisions admits exactly the limit.
      let admitted = 5;
      for (let i = 0; i < 1_100; i++) {
        if (admit("a", t0, 1).allowed) admitted++;
        admit(`other${i}`, t0, 1);
      }
      expect(admitted).toBe(1_000);
      // A peek neither keeps a key nor pushes one out.
      store.readStates("peeked", [p], t0, false);
      expect(state.storage.sql.exec("SELECT count(*) AS n FROM _limit_state WHERE key = 'peeked'").one().n).toBe(0);
    });
  });

  it("moves the actor's one cleanup alarm earlier for a key that is idle sooner", async () => {
    const actor = stub("test:alarm-earlier");
    const slow = policy(10, 86_400_000); // one unit replenishes in 2.4 h
    await actor.decide("slow", { policies: [slow], cost: 1, mode: "enforce", requestId: null });
    const first = await runInDurableObject(actor, (_instance, state) => state.storage.getAlarm());
    expect(first! - Date.now()).toBeGreaterThan(3_600_000);
    await actor.decide("fast", { policies: [policy(2, 1_000)], cost: 1, mode: "enforce", requestId: null });
    const moved = await runInDurableObject(actor, (_instance, state) => state.storage.getAlarm());
    expect(moved! - Date.now()).toBeLessThanOrEqual(60_000);
  });

  it("cleans up a crowd of idle keys a batch per alarm, and the database once nothing is left", async () => {
    const actor = stub("test:sweep-batches");
    const p = policy(2, 50);
    const keys = SWEEP_BATCH * 2 + 500;
    await runInDurableObject(actor, (_instance, state) => {
      const store = new LimitStore(state.storage);
      const now = Date.now() - 120_000; // written two minutes ago, replenished 50 ms later
      for (let i = 0; i < keys; i++) {
        const { nextStates } = evaluate([p], store.readStates(`k${i}`, [p], now), now, 1, true);
        store.write(`k${i}`, [{ policy: p, state: nextStates![0] }]);
      }
      expect(count(state, "_limit_state")).toBe(keys);
    });
    await runInDurableObject(actor, (_instance, state) => state.storage.setAlarm(Date.now() + 60_000));
    const left: number[] = [];
    const alarms: (number | null)[] = [];
    for (let i = 0; i < 3; i++) {
      expect(await runDurableObjectAlarm(actor)).toBe(true);
      await runInDurableObject(actor, async (_instance, state) => {
        left.push(
          state.storage.sql.exec("SELECT name FROM sqlite_master WHERE name = '_limit_state'").toArray().length
            ? count(state, "_limit_state")
            : 0,
        );
        alarms.push(await state.storage.getAlarm());
      });
    }
    expect(left).toEqual([keys - SWEEP_BATCH, keys - 2 * SWEEP_BATCH, 0]);
    // Due rows left over: the next sweep comes at once (100 ms); nothing left: no alarm, no tables.
    expect(alarms[0]! - Date.now()).toBeLessThan(1_000);
    expect(alarms[2]).toBeNull();
  });

  it("forgets the tables of the one-actor-per-key layout of earlier versions and works on", async () => {
    const actor = stub("test:legacy");
    await runInDurableObject(actor, (_instance, state) => {
      state.storage.sql.exec(`
        CREATE TABLE _limit_state (policy TEXT PRIMARY KEY, state TEXT NOT NULL, idle_at INTEGER NOT NULL);
        CREATE TABLE _request (request_id TEXT PRIMARY KEY, decision TEXT NOT NULL, expires_at INTEGER NOT NULL);
        CREATE TABLE _meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
        INSERT INTO _limit_state VALUES ('inline|gcra:2:60000:0:rolling', '{"at":0}', 0);
        INSERT INTO _meta VALUES ('alarm_at', 1);
      `);
      return state.storage.setAlarm(Date.now() + 60_000);
    });
    // Its old alarm fires on the new code: harmless, and the old state is gone.
    expect(await runDurableObjectAlarm(actor)).toBe(true);
    const p = policy(2, 60_000);
    expect(unwrap(await actor.decide("k", { policies: [p], cost: 1, mode: "enforce", requestId: null })).remaining).toBe(1);
    await runInDurableObject(actor, (_instance, state) => {
      expect(state.storage.sql.exec("SELECT key, policy FROM _limit_state").toArray()).toEqual([
        { key: "k", policy: "inline|gcra:2:60000:0:rolling" },
      ]);
    });
  });
});
