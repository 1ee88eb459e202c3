/**
 * The shape every algorithm implements. Each is a set of pure functions of (policy, state, now):
 * the actor passes its own clock, tests pass a fake one. `refresh` applies the passing of time and
 * is where a clock that went backwards is clamped (time going backwards grants nothing).
 */
import type { Policy } from "../../../shared/rate-limit/policy";

export interface Status {
  /** Units that could be admitted right now. */
  remaining: number;
  /** Milliseconds until a request of the asked cost fits (0 when it fits now), with no other traffic. */
  retryAfterMs: number;
  /** Milliseconds until the policy is fully replenished (remaining back to capacity). */
  resetAfterMs: number;
}

export interface Algorithm<S> {
  /** The state of a key nobody has used yet: full capacity. */
  fresh(policy: Policy, now: number): S;
  /** The state at `now` (≥ the state's own time: a clock that went backwards is clamped). */
  refresh(policy: Policy, state: S, now: number): S;
  /** What the refreshed state allows for a request of `cost` units (cost ≥ 1). */
  status(policy: Policy, state: S, cost: number): Status;
  /** The refreshed state after admitting `cost` units; callers check `status` first. */
  debit(policy: Policy, state: S, cost: number): S;
  /**
   * True when `stored`, refreshed to `current.at` or any later time, never admits more than
   * `current` would (`current` is refreshed). The actor then need not write `current`: a restart
   * that reloads `stored` can only admit less. Absent: every change is written.
   */
  covers?(policy: Policy, stored: S, current: S): boolean;
  /**
   * The state to store ahead of `current` (refreshed) with a reserve of `units` (at most what is
   * left): one that `covers` current and, refreshed to any later time, is at most `units` more
   * spent than current would be by then. Absent: `current` with the units debited.
   */
  ahead?(policy: Policy, current: S, units: number): S;
}
