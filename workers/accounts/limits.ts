/**
 * Brute-force limits on the accounts routes, decided by the RateLimiterDO: attempts per email
 * (signin, signup, recover) and per client IP (every accounts route that takes no session),
 * from `auth.rateLimits` in the config. Over either: 429 with `Retry-After`.
 */
import { limiterFor } from "../../objects/rate-limiter/contract";
import { HttpError } from "../../shared/errors";
import { decisionHeaders } from "../../shared/rate-limit/headers";
import { type Policy, configPolicy } from "../../shared/rate-limit/policy";
import { unwrap } from "../../shared/rpc";
import { config } from "../config";
import type { AppRequest } from "../context";
import { clientIp } from "../middleware/auth";

let policies: { email: Policy; ip: Policy } | null = null;

function authPolicies(): { email: Policy; ip: Policy } {
  policies ??= {
    email: configPolicy("auth-email", config.auth.rateLimits.email),
    ip: configPolicy("auth-ip", config.auth.rateLimits.ip),
  };
  return policies;
}

/** Counts one attempt for the client IP and, when given, the email; throws 429 when either is over. */
export async function limitAttempt(request: AppRequest, env: Env, email: string | null): Promise<void> {
  const { email: perEmail, ip: perIp } = authPolicies();
  const checks = [decide(env, `auth:ip:${clientIp(request)}`, perIp)];
  if (email !== null) checks.push(decide(env, `auth:email:${email}`, perEmail));
  for (const decision of await Promise.all(checks)) {
    if (!decision.allowed) {
      const seconds = Math.ceil(decision.retryAfterMs / 1000);
      throw new HttpError(429, "RATE_LIMITED", `Too many attempts; retry in ${seconds} s.`, { headers: decisionHeaders(decision) });
    }
  }
}

async function decide(env: Env, key: string, policy: Policy) {
  return unwrap(await limiterFor(env, key).decide({ policies: [policy], cost: 1, mode: "enforce", requestId: null }));
}
