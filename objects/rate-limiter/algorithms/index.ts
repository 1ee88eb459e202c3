/** The algorithms by name. */
import type { RateLimitAlgorithm } from "../../../shared/config";
import type { Policy } from "../../../shared/rate-limit/policy";
import type { Algorithm, Status } from "./algorithm";
import { fixedWindow } from "./fixed-window";
import { gcra } from "./gcra";
import { slidingWindow } from "./sliding-window";
import { tokenBucket } from "./token-bucket";

export type { Algorithm, Status } from "./algorithm";

/** What every algorithm's state has in common: the time it was last brought up to date. */
export interface TimedState {
  at: number;
}

/** Every algorithm by its config name; the actor and the tests look them up here. */
export const ALGORITHMS: Record<RateLimitAlgorithm, Algorithm<TimedState>> = {
  gcra: gcra as Algorithm<TimedState>,
  token_bucket: tokenBucket as Algorithm<TimedState>,
  sliding_window: slidingWindow as Algorithm<TimedState>,
  fixed_window: fixedWindow as Algorithm<TimedState>,
};

/**
 * The algorithm's `status` with its waits counted from `now`. A state refreshed to `now` can still
 * be dated later (one written before the clock went back, or one an earlier version stored dated
 * ahead); the algorithm counts from the state's own time, so each wait grows by the difference.
 */
export function statusAt(algorithm: Algorithm<TimedState>, policy: Policy, state: TimedState, now: number, cost: number): Status {
  const status = algorithm.status(policy, state, cost);
  const ahead = state.at - now;
  if (ahead <= 0) return status;
  return {
    remaining: status.remaining,
    retryAfterMs: status.retryAfterMs === 0 ? 0 : status.retryAfterMs + ahead,
    resetAfterMs: status.resetAfterMs === 0 ? 0 : status.resetAfterMs + ahead,
  };
}
