/**
 * The id a policy's state is stored under on a key, and back: the actor's storage concern, so it
 * lives with the actor, while the policy itself (shared/rate-limit/policy.ts) is shared.
 */
import type { RateLimitAlgorithm } from "../../shared/config";
import { RATE_LIMIT_ALGORITHMS } from "../../shared/config";
import type { Policy } from "../../shared/rate-limit/policy";

/**
 * The key a policy's state is stored under. Named policies are keyed by name and values (a config
 * change starts fresh state instead of misreading the old one); inline ones by their values alone.
 */
export function policyId(policy: Policy): string {
  const values = `${policy.algorithm}:${policy.limit}:${policy.periodMs}:${policy.burst}:${policy.aligned ? "aligned" : "rolling"}`;
  return policy.inline ? `inline|${values}` : `name:${policy.name}|${values}`;
}

/**
 * The policy a `policyId` was made from, or null for a string no policy makes. An inline policy's
 * name is not part of its id and comes back as "inline"; nothing that decides depends on it.
 */
export function policyFromId(id: string): Policy | null {
  const bar = id.lastIndexOf("|");
  const head = id.slice(0, bar);
  const [algorithm, limit, periodMs, burst, aligned, ...rest] = id.slice(bar + 1).split(":");
  const inline = head === "inline";
  if (bar < 0 || rest.length > 0 || (!inline && !head.startsWith("name:"))) return null;
  if (!(RATE_LIMIT_ALGORITHMS as readonly string[]).includes(algorithm ?? "") || (aligned !== "aligned" && aligned !== "rolling"))
    return null;
  const policy: Policy = {
    name: inline ? "inline" : head.slice("name:".length),
    inline,
    algorithm: algorithm as RateLimitAlgorithm,
    limit: Number(limit),
    periodMs: Number(periodMs),
    burst: Number(burst),
    aligned: aligned === "aligned",
  };
  return policyId(policy) === id ? policy : null;
}
