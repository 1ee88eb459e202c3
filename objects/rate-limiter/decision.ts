/**
 * Decisions over one or more policies, as pure functions of (policies, states, now). All policies
 * must allow; a denial debits none. The actor persists the states this returns and nothing else.
 */
import type { Decision, PolicyResult } from "../../shared/rate-limit/decision";
import { type Policy, capacity } from "../../shared/rate-limit/policy";
import { ALGORITHMS, type TimedState, statusAt } from "./algorithms";

export interface Evaluated {
  decision: Decision;
  /** The states to persist (same order as the policies), or null when nothing changes. */
  nextStates: unknown[] | null;
}

/**
 * Decides a request of `cost` units against every policy at time `now`. Cost 0 peeks: it reports
 * whether one unit would be admitted and changes nothing. With `debit` false (dry run) the decision
 * is the same but no state changes.
 */
export function evaluate(policies: readonly Policy[], states: readonly unknown[], now: number, cost: number, debit: boolean): Evaluated {
  const asked = Math.max(cost, 1);
  const refreshed = policies.map((policy, i) => {
    const algorithm = ALGORITHMS[policy.algorithm];
    const state = algorithm.refresh(policy, (states[i] as TimedState | null) ?? algorithm.fresh(policy, now), now);
    return { policy, algorithm, state, status: statusAt(algorithm, policy, state, now, asked) };
  });
  const allowed = refreshed.every(({ status }) => status.retryAfterMs === 0);
  const commit = allowed && debit && cost > 0;
  const results: PolicyResult[] = [];
  const nextStates: unknown[] = [];
  for (const { policy, algorithm, state, status } of refreshed) {
    const base = { name: policy.name, algorithm: policy.algorithm, limit: policy.limit, periodMs: policy.periodMs, burst: policy.burst };
    if (commit) {
      const next = algorithm.debit(policy, state, cost);
      const after = statusAt(algorithm, policy, next, now, 1);
      nextStates.push(next);
      results.push({ ...base, allowed: true, remaining: after.remaining, retryAfterMs: 0, resetAfterMs: after.resetAfterMs });
    } else {
      // A dry run reports what admitting would leave; a denial or a peek reports the state as it is.
      const remaining = allowed && cost > 0 ? status.remaining - cost : status.remaining;
      const resetAfterMs =
        allowed && cost > 0 ? statusAt(algorithm, policy, algorithm.debit(policy, state, cost), now, 1).resetAfterMs : status.resetAfterMs;
      results.push({ ...base, allowed: status.retryAfterMs === 0, remaining, retryAfterMs: status.retryAfterMs, resetAfterMs });
    }
  }
  return { decision: summarize(allowed, results), nextStates: commit ? nextStates : null };
}

/** The headline numbers: the denying policy with the longest wait, else the one with the fewest units left. */
function summarize(allowed: boolean, results: PolicyResult[]): Decision {
  let decisive = results[0]!;
  for (const result of results.slice(1)) {
    if (
      allowed ? result.remaining < decisive.remaining : !result.allowed && (decisive.allowed || result.retryAfterMs > decisive.retryAfterMs)
    ) {
      decisive = result;
    }
  }
  return {
    allowed,
    limit: decisive.limit,
    remaining: decisive.remaining,
    retryAfterMs: allowed ? 0 : decisive.retryAfterMs,
    resetAfterMs: decisive.resetAfterMs,
    policies: results,
  };
}

/** The idle time after which a state is fully replenished and can be dropped (absolute ms). */
export function idleAt(policy: Policy, state: unknown, now: number): number {
  const algorithm = ALGORITHMS[policy.algorithm];
  const refreshed = algorithm.refresh(policy, state as TimedState, now);
  return refreshed.at + algorithm.status(policy, refreshed, 1).resetAfterMs;
}

/** Rejects a cost no policy could ever admit (422), since waiting would not help. */
export function checkCost(policies: readonly Policy[], cost: number): string | null {
  for (const policy of policies) {
    if (cost > capacity(policy))
      return `cost ${cost} exceeds the capacity of policy "${policy.name}" (${capacity(policy)}); no wait would make it fit`;
  }
  return null;
}
