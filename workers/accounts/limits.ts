/**
 * Brute-force limits on the accounts routes, decided by the RateLimiterDO from `auth.rateLimits`
 * in the config: attempts per account (`email:<address>` for signin, signup, recover and link;
 * `user:<id>` for a password change and a verification mail) and per client IP. Refreshes have an allowance of their own per IP, the same size, which only
 * failed refreshes use: a valid refresh token cannot be guessed, so what is limited is guessing, and
 * signed-in clients behind one address renew freely (without a durable write for the limiter).
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
}

let policies: AuthPolicies | null = null;

function authPolicies(): AuthPolicies {
  policies ??= {
    email: configPolicy("auth-email", config.auth.rateLimits.email),
    ip: configPolicy("auth-ip", config.auth.rateLimits.ip),
  };
  return policies;
}

/** Runs a refresh unless its IP's failed refreshes used its allowance (429); counts it if it fails. */
export async function limitedRefresh<T>(request: AppRequest, env: Env, refresh: () => Promise<T>): Promise<T> {
  const key = `auth:refresh:${clientIp(request)}`;
  const policy = authPolicies().ip;
  refuseIfDenied(unwrap(await limiterFor(env, key).peek([policy])));
  try {
    return await refresh();
  } catch (error) {
    // Only a token that was never valid is a guess; an ended or reused session is the client's own.
    if (error instanceof HttpError && error.code === "INVALID_REFRESH_TOKEN") await decide(env, key, policy);
    throw error;
  }
}

/** Counts one attempt for the client IP and, when given, the account; throws 429 when either is over. */
export async function limitAttempt(request: AppRequest, env: Env, account: `email:${string}` | `user:${string}` | null): Promise<void> {
  const { email: perAccount, ip: perIp } = authPolicies();
  const checks = [decide(env, `auth:ip:${clientIp(request)}`, perIp)];
  if (account !== null) checks.push(decide(env, `auth:${account}`, perAccount));
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
