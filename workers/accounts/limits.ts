/**
 * Brute-force limits on the accounts routes, decided by the RateLimiterDO: attempts per email
 * (signin, signup, recover), per client IP (the other accounts routes that take no session), and
 * refreshes per client IP on their own, higher, allowance, from `auth.rateLimits` in the config.
 * Over any: 429 with `Retry-After`.
 */
import { limiterFor } from "../../objects/rate-limiter/contract";
import { HttpError } from "../../shared/errors";
import type { Decision } from "../../shared/rate-limit/decision";
import { decisionHeaders } from "../../shared/rate-limit/headers";
import { type Policy, configPolicy } from "../../shared/rate-limit/policy";
import { unwrap } from "../../shared/rpc";
import { config } from "../config";
import type { AppRequest } from "../context";
import { clientIp } from "../middleware/auth";

interface AuthPolicies {
  email: Policy;
  ip: Policy;
  refresh: Policy;
}

let policies: AuthPolicies | null = null;

function authPolicies(): AuthPolicies {
  policies ??= {
    email: configPolicy("auth-email", config.auth.rateLimits.email),
    ip: configPolicy("auth-ip", config.auth.rateLimits.ip),
    refresh: configPolicy("auth-refresh", config.auth.rateLimits.refresh),
  };
  return policies;
}

/** Counts one refresh for the client IP; throws 429 when it is over. */
export async function limitRefresh(request: AppRequest, env: Env): Promise<void> {
  refuseIfDenied(await decide(env, `auth:refresh:${clientIp(request)}`, authPolicies().refresh));
}

/** Counts one attempt for the client IP and, when given, the email; throws 429 when either is over. */
export async function limitAttempt(request: AppRequest, env: Env, email: string | null): Promise<void> {
  const { email: perEmail, ip: perIp } = authPolicies();
  const checks = [decide(env, `auth:ip:${clientIp(request)}`, perIp)];
  if (email !== null) checks.push(decide(env, `auth:email:${email}`, perEmail));
  for (const decision of await Promise.all(checks)) refuseIfDenied(decision);
}

function refuseIfDenied(decision: Decision): void {
  if (decision.allowed) return;
  const seconds = Math.ceil(decision.retryAfterMs / 1000);
  throw new HttpError(429, "RATE_LIMITED", `Too many attempts; retry in ${seconds} s.`, { headers: decisionHeaders(decision) });
}

async function decide(env: Env, key: string, policy: Policy): Promise<Decision> {
  return unwrap(await limiterFor(env, key).decide({ policies: [policy], cost: 1, mode: "enforce", requestId: null }));
}
