/**
 * Writing ahead: when a decision must write a policy's state, the actor writes it with a reserve
 * of extra units already debited, so the decisions that follow can spend the reserve without a
 * SQLite commit each. The actor answers from its exact in-memory state; storage only ever holds a
 * state at least as spent as that one. A restart reloads the stored state, so it can count unspent
 * reserve as used (admitting less for a while) and never admits more than the policy allows.
 * Only gcra and fixed_window can be written ahead (their `covers`); token_bucket and
 * sliding_window write every change. Pure, like the algorithms.
 */
import { ALGORITHMS, type TimedState } from "./algorithms";
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
