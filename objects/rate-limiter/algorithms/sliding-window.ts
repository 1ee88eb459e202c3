/**
 * Sliding window log: a unit admitted at time τ counts against the limit during [τ, τ + periodMs).
 * The log holds (time, cost) entries. Up to a limit of 1,000 (or a period of 1,000 ms) every entry
 * keeps its exact millisecond. Above that, times are rounded UP to the end of their 1/1,000-period
 * slot so the log never exceeds ~1,000 entries: capacity then returns up to periodMs / 1,000 later
 * than exact, never earlier, so the promise still holds.
 *
 * Promise: for every instant t, the cost admitted during (t − periodMs, t] is ≤ limit.
 */
import type { Policy } from "../../../shared/rate-limit/policy";
import type { Algorithm } from "./algorithm";
import { ceilDiv, mod } from "./arithmetic";

/** Largest limit kept as an exact millisecond log. */
export const EXACT_LOG_LIMIT = 1_000;

export interface SlidingWindowState {
  at: number;
  /** [time, cost] pairs, oldest first; times are unique. */
  log: [number, number][];
}

/** The width of a log slot in ms: 1 (exact) up to a limit of 1,000, else periodMs / 1,000 rounded up. */
export function slotMs(policy: Policy): number {
  return policy.limit <= EXACT_LOG_LIMIT ? 1 : ceilDiv(policy.periodMs, EXACT_LOG_LIMIT);
}

function used(state: SlidingWindowState): number {
  let sum = 0;
  for (const [, cost] of state.log) sum += cost;
  return sum;
}

/** The sliding window log (see the file comment for its promise and the rounding above 1,000). */
export const slidingWindow: Algorithm<SlidingWindowState> = {
  fresh: (_policy, now) => ({ at: now, log: [] }),

  refresh(policy, state, now) {
    const at = Math.max(now, state.at);
    let first = 0;
    while (first < state.log.length && state.log[first]![0] + policy.periodMs <= at) first++;
    return { at, log: first === 0 ? state.log : state.log.slice(first) };
  },

  status(policy, state, cost) {
    const remaining = policy.limit - used(state);
    const last = state.log[state.log.length - 1];
    const resetAfterMs = last ? last[0] + policy.periodMs - state.at : 0;
    if (cost <= remaining) return { remaining, retryAfterMs: 0, resetAfterMs };
    // The request fits once enough of the oldest entries have left the window.
    let freed = 0;
    for (const [time, entryCost] of state.log) {
      freed += entryCost;
      if (remaining + freed >= cost) return { remaining, retryAfterMs: time + policy.periodMs - state.at, resetAfterMs };
    }
    return { remaining, retryAfterMs: resetAfterMs, resetAfterMs }; // unreachable while cost ≤ limit
  },

  debit(policy, state, cost) {
    const slot = slotMs(policy);
    const time = slot === 1 ? state.at : state.at - mod(state.at, slot) + slot - 1;
    const log = state.log.map(([t, c]): [number, number] => [t, c]);
    const last = log[log.length - 1];
    if (last && last[0] === time) last[1] += cost;
    else log.push([time, cost]);
    return { at: state.at, log };
  },
};
