/**
 * The IETF httpapi draft's `RateLimit-Policy` and `RateLimit` header fields (structured-field Lists
 * of Strings with parameters; draft-ietf-httpapi-ratelimit-headers-10) and `Retry-After`, rendered
 * from the same numbers as the JSON body so the two always agree.
 */
import type { Decision, PolicyResult } from "./decision";

/** One policy's numbers as the headers need them. */
export type HeaderPolicy = Pick<PolicyResult, "name" | "limit" | "periodMs" | "remaining" | "retryAfterMs" | "resetAfterMs">;

/** An sf-string: printable ASCII with `"` and `\` escaped (other characters are replaced by `?`). */
export function sfString(value: string): string {
  return `"${value.replace(/[^\x20-\x7e]/g, "?").replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/** Whole seconds, rounded up, so a client that waits them is never early. */
export function seconds(ms: number): number {
  return Math.ceil(ms / 1000);
}

/**
 * `RateLimit-Policy` member: quota `q` and window `w` in seconds (omitted when the period is not a
 * whole number of seconds, since the draft's `w` is an Integer).
 */
export function policyItem(policy: Pick<HeaderPolicy, "name" | "limit" | "periodMs">): string {
  return `${sfString(policy.name)};q=${policy.limit}${policy.periodMs % 1000 === 0 ? `;w=${policy.periodMs / 1000}` : ""}`;
}

/**
 * `RateLimit` member: remaining units `r` and `t`, the seconds until the units come back: until the
 * request fits when it was denied, else until the policy is fully replenished.
 */
export function limitItem(policy: HeaderPolicy): string {
  const t = policy.retryAfterMs > 0 ? policy.retryAfterMs : policy.resetAfterMs;
  return `${sfString(policy.name)};r=${policy.remaining};t=${seconds(t)}`;
}

/** All three headers for a set of policies; `Retry-After` only when `retryAfterMs` > 0 (denied). */
export function rateLimitHeaders(policies: readonly HeaderPolicy[], retryAfterMs: number): Record<string, string> {
  const headers: Record<string, string> = {
    "RateLimit-Policy": policies.map(policyItem).join(", "),
    RateLimit: policies.map(limitItem).join(", "),
  };
  if (retryAfterMs > 0) headers["Retry-After"] = String(seconds(retryAfterMs));
  return headers;
}

/** The headers for an API decision. In shadow mode nothing is denied, so there is no Retry-After. */
export function decisionHeaders(decision: Decision): Record<string, string> {
  const denied = !decision.allowed;
  const policies = decision.policies.map((p) => (denied ? p : { ...p, retryAfterMs: 0 }));
  return rateLimitHeaders(policies, denied ? decision.retryAfterMs : 0);
}
