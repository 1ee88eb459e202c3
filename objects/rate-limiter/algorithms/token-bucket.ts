/**
 * Token bucket with refills in steps: the bucket holds up to limit + burst tokens and, while it is
 * below full, gains `limit` tokens every full periodMs counted from the moment it dropped below full.
 * Unlike GCRA's smooth drip, capacity comes back in one lump per period.
 *
 * Promise: at most limit + burst at once; over any interval containing n refill instants, admitted
 * cost ≤ limit + burst + n × limit (so at most limit + burst + limit in any periodMs).
 */
import { capacity } from "../../../shared/rate-limit/policy";
import type { Algorithm } from "./algorithm";
import { ceilDiv, floorDiv } from "./arithmetic";

export interface TokenBucketState {
  at: number;
  tokens: number;
  /** The last refill instant (or the moment the bucket dropped below full); the next is anchor + periodMs. */
  anchor: number;
}

/** The stepped token bucket (see the file comment for its promise). */
export const tokenBucket: Algorithm<TokenBucketState> = {
  fresh: (policy, now) => ({ at: now, tokens: capacity(policy), anchor: now }),

  refresh(policy, state, now) {
    const at = Math.max(now, state.at);
    const full = capacity(policy);
    let { tokens, anchor } = state;
    if (tokens < full) {
      const steps = floorDiv(at - anchor, policy.periodMs);
      if (steps > 0) {
        // steps × limit may exceed 2^53 after a long idle time; the min() makes that harmless.
        tokens = Math.min(full, tokens + steps * policy.limit);
        anchor += steps * policy.periodMs;
      }
    }
    if (tokens >= full) anchor = at;
    return { at, tokens, anchor };
  },

  status(policy, state, cost) {
    const full = capacity(policy);
    const untilTokens = (wanted: number): number =>
      state.tokens >= wanted ? 0 : state.anchor + ceilDiv(wanted - state.tokens, policy.limit) * policy.periodMs - state.at;
    return { remaining: state.tokens, retryAfterMs: untilTokens(cost), resetAfterMs: untilTokens(full) };
  },

  debit: (_policy, state, cost) => ({ at: state.at, tokens: state.tokens - cost, anchor: state.anchor }),
  // No `covers`: a bucket holding fewer tokens can stay below full where the exact one fills up
  // and restarts its refill cadence later, so it would refill sooner. Every change is written.
};
