/**
 * The platform limiter: policy `rateLimits.platformPolicy` of the config protects `/api/*` per
 * caller (JWT `sub`, or client IP when anonymous; the service key is exempt). Two middlewares:
 * `rateLimitEarly` runs before authentication and only denies callers this isolate already knows
 * are blocked (it never admits); `rateLimit` runs after authentication, keyed by the verified
 * caller, and admits from leased units or asks the caller's RateLimiterDO.
 */
import { limiterFor } from "../../objects/rate-limiter/contract";
import { callerKey } from "../../shared/caller";
import { HttpError } from "../../shared/errors";
import { type HeaderPolicy, limitItem, policyItem, rateLimitHeaders } from "../../shared/rate-limit/headers";
import { type Policy, configPolicy, inlinePolicy } from "../../shared/rate-limit/policy";
import { unwrap } from "../../shared/rpc";
import { config } from "../config";
import type { AppRequest } from "../context";
import { clientIp } from "./auth";
import { type Admission, IsolateLimiter } from "./rate-limit-isolate";

/** This isolate's tier (module scope: it lives as long as the isolate). */
export const isolateLimiter = new IsolateLimiter();

const resolved = new Map<string, Policy | null>();

/**
 * The platform policy: the config's, unless the `RATE_LIMIT_PLATFORM` variable says `off` or gives
 * `<limit>/<periodMs>` (for operators and for tests of the 429 path with a tiny limit).
 */
export function platformPolicy(env: Env): Policy | null {
  const override = (env.RATE_LIMIT_PLATFORM ?? "").trim();
  let policy = resolved.get(override);
  if (policy !== undefined) return policy;
  const name = config.rateLimits.platformPolicy;
  const base = name === null ? null : configPolicy(name, config.rateLimits.policies[name]!);
  if (override === "") {
    policy = base;
  } else if (override === "off") {
    policy = null;
  } else {
    const match = /^(\d+)\/(\d+)$/.exec(override);
    if (!match) throw new HttpError(500, "RATE_LIMIT_MISCONFIGURED", 'RATE_LIMIT_PLATFORM must be empty, "off" or "<limit>/<periodMs>".');
    const values = { limit: Number(match[1]), periodMs: Number(match[2]), algorithm: base?.algorithm ?? "gcra" };
    policy = { ...inlinePolicy(values, name ?? "api"), inline: false };
  }
  resolved.set(override, policy);
  return policy;
}

/** Before authentication: denies a credential this isolate knows is blocked; never admits. */
export function rateLimitEarly(request: AppRequest, env: Env): void {
  if (!isolateLimiter.anyBlocked) return;
  const policy = platformPolicy(env);
  if (policy === null || !isApi(request)) return;
  const credential = credentialOf(request, env);
  if (credential === null) return;
  const blockedMs = isolateLimiter.blockedFor(credential);
  if (blockedMs > 0) {
    request.state.timings.push('ratelimit;desc="isolate"');
    throw tooManyRequests(policy, { allowed: false, remaining: 0, retryAfterMs: blockedMs, resetAfterMs: blockedMs, calledActor: false });
  }
}

/**
 * After authentication: admits the verified caller from its lease or its actor, or answers 429.
 * Synchronous when the isolate holds a unit for the caller (the common case), a promise otherwise.
 */
export function rateLimit(request: AppRequest, env: Env, ctx: ExecutionContext): void | Promise<void> {
  const policy = platformPolicy(env);
  const caller = request.state.caller;
  if (policy === null || !caller || caller.kind === "service" || !isApi(request)) return;
  const key = callerKey(caller);
  const started = Date.now();
  const admission = isolateLimiter.admit(
    key,
    policy,
    async (want) => unwrap(await limiterFor(env, `platform:${key}`).lease(policy, want)),
    credentialOf(request, env),
    (topUp) => ctx.waitUntil(topUp),
  );
  if (admission instanceof Promise) return admission.then((answer) => settle(request, policy, answer, started));
  settle(request, policy, admission, started);
}

/** Queues the rate-limit headers and timing of an admission, or throws the 429 of a denial. */
function settle(request: AppRequest, policy: Policy, admission: Admission, started: number): void {
  request.state.timings.push(timing(admission, Date.now() - started));
  if (!admission.allowed) throw tooManyRequests(policy, admission);
  const headers = request.state.responseHeaders;
  headers["RateLimit-Policy"] = policyHeader(policy);
  headers.RateLimit = limitItem(headerPolicy(policy, admission));
}

/** The `Server-Timing` entry: which tier answered, and how long the request waited on an actor or a lease. */
function timing(admission: Admission, waitedMs: number): string {
  if (admission.calledActor) return `ratelimit;desc="actor";dur=${waitedMs}`;
  return waitedMs > 0 ? `ratelimit;desc="isolate";dur=${waitedMs}` : 'ratelimit;desc="isolate"';
}

const policyHeaders = new WeakMap<Policy, string>();

/** `RateLimit-Policy` for the platform policy, rendered once per policy (it is the same on every answer). */
function policyHeader(policy: Policy): string {
  let header = policyHeaders.get(policy);
  if (header === undefined) policyHeaders.set(policy, (header = policyItem(policy)));
  return header;
}

function headerPolicy(policy: Policy, admission: Admission): HeaderPolicy {
  return {
    name: policy.name,
    limit: policy.limit,
    periodMs: policy.periodMs,
    remaining: admission.remaining,
    retryAfterMs: admission.retryAfterMs,
    resetAfterMs: admission.resetAfterMs,
  };
}

function headersFor(policy: Policy, admission: Admission): Record<string, string> {
  return rateLimitHeaders([headerPolicy(policy, admission)], admission.retryAfterMs);
}

function tooManyRequests(policy: Policy, admission: Admission): HttpError {
  const seconds = Math.ceil(admission.retryAfterMs / 1000);
  return new HttpError(
    429,
    "RATE_LIMITED",
    `Too many requests under policy "${policy.name}" (${policy.limit} per ${policy.periodMs} ms); retry in ${seconds} s.`,
    {
      headers: headersFor(policy, admission),
    },
  );
}

/**
 * What an early denial is keyed by: the tail of the Authorization value (for a JWT, part of its
 * signature: distinct per token, and short, so 10,000 remembered credentials stay small), or the
 * IP when anonymous. A forged token sharing that tail could at worst be told 429 instead of 401.
 */
function credentialOf(request: AppRequest, env: Env): string | null {
  if (request.headers.has("X-Service-Key")) return null;
  const authorization = request.headers.get("Authorization");
  // The anon key is everyone's (supabase-js sends it for every signed-out user): key by IP, like no credentials.
  if (authorization === null || (env.ANON_KEY && authorization === `Bearer ${env.ANON_KEY}`)) return `ip:${clientIp(request)}`;
  return `auth:${authorization.slice(-64)}`;
}

/** The platform's API: the native routes and the PostgREST-compatible ones (docs/postgrest.md). */
function isApi(request: AppRequest): boolean {
  const path = request.state.path;
  return path === "/api" || path.startsWith("/api/") || path.startsWith("/rest/");
}
