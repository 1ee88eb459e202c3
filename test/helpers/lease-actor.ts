import type { Lease } from "../../shared/rate-limit/decision";
import type { Policy } from "../../shared/rate-limit/policy";
import type { LeaseFetcher } from "../../workers/middleware/rate-limit-isolate";

/**
 * The platform policy `api` with `limit` per `periodMs` (gcra), as the isolate tier sees it. The
 * default period of 10 s gives leases of 1 s, which the tests' clocks step through.
 */
export const policy = (limit: number, periodMs = 10_000): Policy => ({
  name: "api",
  inline: false,
  algorithm: "gcra",
  limit,
  periodMs,
  burst: 0,
  aligned: false,
});

/** A fake actor: a counter of units left (refilled by hand), refusing with a 5 s wait when empty; records each lease asked for. */
export function fakeActor(units: number) {
  const calls: number[] = [];
  const state = { units };
  const fetch: LeaseFetcher = async (want) => {
    calls.push(want);
    const granted = Math.min(want, state.units);
    state.units -= granted;
    return { granted, remaining: state.units, retryAfterMs: granted === 0 ? 5_000 : 0, resetAfterMs: 60_000 } satisfies Lease;
  };
  return { calls, state, fetch };
}
