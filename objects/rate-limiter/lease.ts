/**
 * Granting leases for the platform limiter (see `Lease` in shared/rate-limit/decision.ts). Pure,
 * like the algorithms.
 */
import type { Lease } from "../../shared/rate-limit/decision";
import type { Policy } from "../../shared/rate-limit/policy";
import { ALGORITHMS, type TimedState, statusAt } from "./algorithms";

/** Grants min(want, available) units, or none (with the wait) when nothing is available. */
export function grantLease(policy: Policy, state: unknown, now: number, want: number): { lease: Lease; nextState: unknown } {
  const algorithm = ALGORITHMS[policy.algorithm];
  const current = algorithm.refresh(policy, (state as TimedState | null) ?? algorithm.fresh(policy, now), now);
  const status = statusAt(algorithm, policy, current, now, 1);
  if (status.retryAfterMs > 0) {
    return {
      lease: { granted: 0, remaining: status.remaining, retryAfterMs: status.retryAfterMs, resetAfterMs: status.resetAfterMs },
      nextState: null,
    };
  }
  const granted = Math.min(want, status.remaining);
  const next = algorithm.debit(policy, current, granted);
  const after = statusAt(algorithm, policy, next, now, 1);
  return { lease: { granted, remaining: after.remaining, retryAfterMs: 0, resetAfterMs: after.resetAfterMs }, nextState: next };
}
