import { describe, expect, it } from "vitest";
import { ACTOR_IDLE_MS, LiveBlocks, MAX_WAIT_MS, liveActorsMax } from "../workers/middleware/live-blocks";
import { fetchWorker } from "./helpers/worker-fetch";
import { SERVICE, jsonInit } from "./helpers/http";

/** A clock that only moves when the code under test sleeps. */
function fakeTime() {
  let now = 1_000_000;
  const sleeps: number[] = [];
  return {
    clock: () => now,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      now += ms;
    },
    advance: (ms: number) => {
      now += ms;
    },
    sleeps,
  };
}

describe("the bound on live blocks", () => {
  it("admits live blocks and new ones under the bound at once, and a new one over it once the oldest has idled out", async () => {
    const time = fakeTime();
    const live = new LiveBlocks(time.clock, time.sleep);
    expect(await live.admit("user:a", 2)).toBe(0);
    time.advance(1_000);
    expect(await live.admit("user:b", 2)).toBe(0);
    expect(await live.admit("user:a", 2)).toBe(0); // live already: no wait, and now the most recently used
    // A third block waits until "b" (used least recently, 1 s in) has been idle ACTOR_IDLE_MS.
    expect(await live.admit("user:c", 2)).toBe(ACTOR_IDLE_MS - 1_000 + 1_000);
    expect(time.sleeps).toEqual([ACTOR_IDLE_MS]);
    expect(live.size).toBe(1); // "a" and "b" idled out during the wait; "c" is live
  });

  it("answers 503 TRY_AGAIN_LATER with Retry-After when no room comes within MAX_WAIT_MS", async () => {
    const time = fakeTime();
    const live = new LiveBlocks(time.clock, async (ms) => {
      time.advance(ms);
      await live.admit("user:busy", 1); // the one live block keeps being used
    });
    await live.admit("user:busy", 1);
    const error = await live.admit("user:new", 1).catch((err: unknown) => err);
    expect(error).toMatchObject({ status: 503, code: "TRY_AGAIN_LATER", headers: { "Retry-After": "1" } });
    expect(time.clock() - 1_000_000).toBeGreaterThanOrEqual(MAX_WAIT_MS);
  });

  it("reads LIVE_ACTORS_MAX: empty or 0 is no bound, anything but a non-negative integer is a clear 500", async () => {
    expect(liveActorsMax({ LIVE_ACTORS_MAX: "" } as Env)).toBe(0);
    expect(liveActorsMax({ LIVE_ACTORS_MAX: " 1500 " } as Env)).toBe(1_500);
    expect(() => liveActorsMax({ LIVE_ACTORS_MAX: "lots" } as Env)).toThrow(/LIVE_ACTORS_MAX/);
    const response = await fetchWorker("/api/db/user:bound/tables/notes", jsonInit("POST", { title: "a" }, SERVICE), {
      LIVE_ACTORS_MAX: "-1",
    });
    expect(response.status).toBe(500);
    expect(await response.json()).toMatchObject({ code: "LIVE_ACTORS_MISCONFIGURED" });
  });
});
