/**
 * GCRA (generic cell rate algorithm), the default. Capacity returns smoothly: one unit every
 * periodMs / limit. The state is one number, the debt (how far the theoretical arrival time runs
 * ahead of now), kept in units of 1/limit ms so that all arithmetic is on exact integers.
 *
 * Promise: over any closed interval of t ms, admitted cost ≤ (limit + burst) + ⌊t × limit / periodMs⌋.
 */
import { capacity } from "../../../shared/rate-limit/policy";
import type { Algorithm } from "./algorithm";
import { ceilDiv, floorDiv } from "./arithmetic";

export interface GcraState {
  /** The time the debt was computed at (ms). */
  at: number;
  /** Theoretical arrival time − at, in units of 1/limit ms; each admitted unit adds periodMs. */
  debt: number;
  /**
   * Stored states only (see `ahead`): debt the state takes on when it is next brought up to date,
   * for the units the actor may have admitted after writing it. `refresh` adds it once and drops it.
   */
  owed?: number;
}

/** GCRA over exact integers (see the file comment for its promise). */
export const gcra: Algorithm<GcraState> = {
  fresh: (_policy, now) => ({ at: now, debt: 0 }),

  refresh(policy, state, now) {
    const at = Math.max(now, state.at);
    const drained = (at - state.at) * policy.limit;
    return { at, debt: (drained >= state.debt ? 0 : state.debt - drained) + (state.owed ?? 0) };
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
  // stored state dated ahead (an older version held its reserve that way) keeps its debt until its
  // own time, while the current one drains. A stored state's `owed` is counted in by refresh.
  covers: (policy, stored, current) => gcra.refresh(policy, stored, current.at).debt >= current.debt,

  // The reserve is owed, not debited: a debt debited ahead would drain with time (1% of the
  // period for a 1% reserve) however few units the key spends, and a key decided less often would
  // commit every decision. Stored as owing `units` on top of the debt at `current.at`, the state
  // brought up to any later time t owes max(debt at t, 0) + units, which is at least the exact debt
  // as long as the exact one has not grown past that: admitting units only adds to the debt, and
  // time drains both alike. So a key that never owes more than `units` writes once, and a
  // restarted actor owes the reserve on top of what the state had drained to, and no more. The
  // stored state does not say when the decisions it covered were made: an actor restarted on a
  // clock d ms behind the last of them lives those d ms again and can admit up to d ms of refill
  // early, once (documented in docs/rate-limiting.md, "Writing ahead").
  ahead: (policy, current, units) => ({ at: current.at, debt: current.debt, owed: units * policy.periodMs }),
};
