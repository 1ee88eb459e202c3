/**
 * GCRA (generic cell rate algorithm), the default. Capacity returns smoothly: one unit every
 * periodMs / limit. The state is one number, the debt (how far the theoretical arrival time runs
 * ahead of now), kept in units of 1/limit ms so that all arithmetic is on exact integers.
 *
 * Promise: over any closed interval of t ms, admitted cost ≤ (limit + burst) + ⌊t × limit / periodMs⌋.
 */
import { capacity } from "../policy";
import type { Algorithm } from "./algorithm";
import { ceilDiv, floorDiv } from "./arithmetic";

export interface GcraState {
  /** The time the debt was computed at (ms). */
  at: number;
  /** Theoretical arrival time − at, in units of 1/limit ms; each admitted unit adds periodMs. */
  debt: number;
}

/** GCRA over exact integers (see the file comment for its promise). */
export const gcra: Algorithm<GcraState> = {
  fresh: (_policy, now) => ({ at: now, debt: 0 }),

  refresh(policy, state, now) {
    const at = Math.max(now, state.at);
    const drained = (at - state.at) * policy.limit;
    return { at, debt: drained >= state.debt ? 0 : state.debt - drained };
  },

  status(policy, state, cost) {
    const room = capacity(policy) * policy.periodMs - state.debt;
    const remaining = floorDiv(room, policy.periodMs);
    return {
      remaining,
      retryAfterMs: cost <= remaining ? 0 : ceilDiv(cost * policy.periodMs - room, policy.limit),
      resetAfterMs: ceilDiv(state.debt, policy.limit),
    };
  },

  debit: (policy, state, cost) => ({ at: state.at, debt: state.debt + cost * policy.periodMs }),

  // Both debts drain at the same rate once both are current, so the larger one stays larger; a
  // stored state dated ahead keeps its debt until its own time, while the current one drains.
  covers: (policy, stored, current) => gcra.refresh(policy, stored, current.at).debt >= current.debt,

  // A debt drains with time, so a reserve debited on top of it lasts only as long as the reserve
  // takes to drain (1% of the period for a 1% reserve), however few units the key spends. A key
  // far below its limit (its debt at most half the reserve) is therefore stored as owing just the
  // reserve, dated holdMs ahead so that it does not start draining before then: storage stays
  // covered while time passes. The state stored holds at most the reserve more than the exact
  // one; a restarted actor, which cannot know when the old one last decided, keeps the date, so
  // the key also gets no refill until then (see holdMs in reserve.ts for the bound).
  ahead(policy, current, units, holdMs) {
    const reserve = units * policy.periodMs;
    if (2 * current.debt <= reserve) return { at: current.at + holdMs, debt: reserve };
    return gcra.debit(policy, current, units);
  },
};
