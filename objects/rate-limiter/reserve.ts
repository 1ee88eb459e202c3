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
import { type Policy, capacity } from "./policy";

/**
 * The reserve is this fraction of a policy's capacity, rounded down: policies under 100 units
 * reserve nothing and write every change, so their state after a restart is exact.
 */
export const RESERVE_FRACTION = 0.01;

/**
 * How long a gcra key far below its limit keeps its reserve in storage before the reserve starts
 * to drain (see gcra's `ahead`): a tenth of its period, at most a minute. A restarted actor only
 * knows what storage holds, so it keeps the hold too, and the key gets no refill until the hold
 * ends: a restart costs it at most its reserve plus a tenth of a period's refill.
 */
const HOLD_FRACTION = 0.1;
const MAX_HOLD_MS = 60_000;

/** The hold for a policy (ms): ⌊periodMs × HOLD_FRACTION⌋, at most MAX_HOLD_MS. */
export function holdMs(policy: Policy): number {
  return Math.min(MAX_HOLD_MS, Math.floor(policy.periodMs * HOLD_FRACTION));
}

/** The most units a restart can count as used that were not: ⌊capacity × RESERVE_FRACTION⌋. */
export function reserveUnits(policy: Policy): number {
  return Math.floor(capacity(policy) * RESERVE_FRACTION);
}

/**
 * The state to write for `current` (refreshed to now), or null when `stored` (the state storage
 * holds, null for none) already covers it and nothing needs writing. The written state is
 * `current` with up to `reserveUnits` more debited, never past what is left (as the algorithm's
 * `ahead` stores it: gcra may date it up to `hold` ms ahead).
 */
export function stateToWrite(policy: Policy, stored: unknown, current: unknown, hold = holdMs(policy)): TimedState | null {
  const algorithm = ALGORITHMS[policy.algorithm];
  const now = current as TimedState;
  if (!algorithm.covers) return now;
  if (stored !== null && algorithm.covers(policy, stored as TimedState, now)) return null;
  const reserve = Math.min(reserveUnits(policy), algorithm.status(policy, now, 1).remaining);
  if (reserve === 0) return now;
  return algorithm.ahead ? algorithm.ahead(policy, now, reserve, hold) : algorithm.debit(policy, now, reserve);
}
