/**
 * Writing ahead: when a decision must write a policy's state, the actor writes it with a reserve
 * of extra units already debited, so the decisions that follow can spend the reserve without a
 * SQLite commit each. The actor answers from its exact in-memory state; storage only ever holds a
 * state at least as spent as that one. A restart reloads the stored state, so it can count unspent
 * reserve as used (admitting less for a while) and never admits more than the policy allows.
 * Only gcra and fixed_window can be written ahead (their `covers`); token_bucket and
 * sliding_window write every change. Pure, like the algorithms.
 *
 * A gcra key that has spent no more than its reserve needs no row at all: its state stays in memory
 * only, and the actor records once in a while how long such states may exist (unstored.ts). A
 * restarted actor loads a key without a row, until then, as having spent its reserve just now
 * (`unstoredState`), which covers whatever the lost state had spent. So a new key commits nothing
 * until it has spent its reserve.
 */
import { ALGORITHMS, type TimedState } from "./algorithms";
import { idleAt } from "./decision";
import { type Policy, capacity } from "../../shared/rate-limit/policy";

/**
 * The reserve is this fraction of a policy's capacity, rounded down: policies under 100 units
 * reserve nothing and write every change, so their state after a restart is exact.
 */
export const RESERVE_FRACTION = 0.01;

/** The most units a restart can count as used that were not: ⌊capacity × RESERVE_FRACTION⌋. */
export function reserveUnits(policy: Policy): number {
  return Math.floor(capacity(policy) * RESERVE_FRACTION);
}

/**
 * The state to write for `current` (refreshed to now), or null when `stored` (the state storage
 * holds, null for none) already covers it and nothing needs writing. The written state is
 * `current` with up to `reserveUnits` more debited, never past what is left (as the algorithm's
 * `ahead` stores it: gcra stores them as owed, see gcra.ts).
 */
export function stateToWrite(policy: Policy, stored: unknown, current: unknown): TimedState | null {
  const algorithm = ALGORITHMS[policy.algorithm];
  const now = current as TimedState;
  if (!algorithm.covers) return now;
  if (stored !== null && algorithm.covers(policy, stored as TimedState, now)) return null;
  const reserve = Math.min(reserveUnits(policy), algorithm.status(policy, now, 1).remaining);
  if (reserve === 0) return now;
  return algorithm.ahead ? algorithm.ahead(policy, now, reserve) : algorithm.debit(policy, now, reserve);
}

/**
 * The state a key without a row is loaded as while unstored states may have been lost (a restart
 * before the time recorded for them): its whole reserve spent at `now`. Only gcra keys go without
 * a row; null (fresh) for any other policy, whose states are always written, and for one without a
 * reserve. A `fixed_window` cannot: a window begun at the reload, by a clock that reads behind or
 * (unaligned) at any time, can end before the lost one and open a new one early.
 */
export function unstoredState(policy: Policy, now: number): TimedState | null {
  const units = reserveUnits(policy);
  if (policy.algorithm !== "gcra" || units === 0) return null;
  return ALGORITHMS.gcra.debit(policy, ALGORITHMS.gcra.fresh(policy, now), units);
}

/**
 * For a key without a row: when `current` (refreshed) will certainly have replenished, if
 * `unstoredState` covers it and it can go without a row until then; null when it must be written.
 */
export function unstoredUntil(policy: Policy, current: TimedState): number | null {
  const covering = unstoredState(policy, current.at);
  if (covering === null || !ALGORITHMS.gcra.covers!(policy, covering, current)) return null;
  return idleAt(policy, covering, current.at);
}
