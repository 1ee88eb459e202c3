/**
 * A rate-limit policy as the RateLimiterDO applies it: normalized (every field present), validated,
 * and identified by a stable id (objects/rate-limiter/policy-id.ts) so each policy keeps its own
 * state under a key. The Worker resolves config names and inline limits into these; the actor only
 * ever sees them.
 */
import type { RateLimitAlgorithm, RateLimitPolicyConfig } from "../config";
import { RATE_LIMIT_ALGORITHMS } from "../config";
import { HttpError } from "../errors";

export interface Policy {
  /** The config name, or `inline-<i>` for limits sent in the request (i = position in the request). */
  name: string;
  /** True for limits sent inline: their state is keyed by their values, not by their name. */
  inline: boolean;
  algorithm: RateLimitAlgorithm;
  limit: number;
  periodMs: number;
  /** Extra capacity on top of `limit` (gcra and token_bucket; windows have no burst). */
  burst: number;
  /** Fixed windows start at multiples of `periodMs` since the Unix epoch. */
  aligned: boolean;
}

/** Largest `limit` or `burst` accepted. */
export const MAX_LIMIT = 1_000_000_000;
/** Longest period accepted: 366 days. */
export const MAX_PERIOD_MS = 366 * 86_400_000;
/** capacity × periodMs stays below this so every algorithm's integer arithmetic is exact in a double. */
export const MAX_CAPACITY_TIMES_PERIOD = 2 ** 51;

/** How many units a policy can ever admit at once: `limit + burst` for buckets, `limit` for windows. */
export function capacity(policy: Policy): number {
  return policy.algorithm === "gcra" || policy.algorithm === "token_bucket" ? policy.limit + policy.burst : policy.limit;
}

const INLINE_FIELDS = ["limit", "periodMs", "burst", "algorithm", "aligned"] as const;

/**
 * Validates limits given inline (a request body or query string) and returns the policy, or throws
 * 422 `INVALID_POLICY` listing every field at fault.
 */
export function inlinePolicy(input: Record<string, unknown>, name: string): Policy {
  const errors: Record<string, string> = {};
  const limit = input.limit;
  const periodMs = input.periodMs;
  const burst = input.burst ?? 0;
  const algorithm = input.algorithm ?? "gcra";
  const aligned = input.aligned ?? false;
  if (!isIntegerIn(limit, 1, MAX_LIMIT)) errors.limit = `must be an integer from 1 to ${MAX_LIMIT}`;
  if (!isIntegerIn(periodMs, 1, MAX_PERIOD_MS)) errors.periodMs = `must be an integer number of milliseconds from 1 to ${MAX_PERIOD_MS}`;
  if (!isIntegerIn(burst, 0, MAX_LIMIT)) errors.burst = `must be an integer from 0 to ${MAX_LIMIT}`;
  if (typeof algorithm !== "string" || !(RATE_LIMIT_ALGORITHMS as readonly string[]).includes(algorithm)) {
    errors.algorithm = `must be one of ${RATE_LIMIT_ALGORITHMS.join(", ")}`;
  }
  if (typeof aligned !== "boolean") errors.aligned = "must be true or false";
  if (errors.algorithm === undefined && burst !== 0 && (algorithm === "sliding_window" || algorithm === "fixed_window")) {
    errors.burst = `applies to gcra and token_bucket only; ${algorithm as string} admits at most limit per window`;
  }
  if (aligned === true && errors.algorithm === undefined && algorithm !== "fixed_window") errors.aligned = "applies to fixed_window only";
  if (Object.keys(errors).length === 0) {
    const policy: Policy = {
      name,
      inline: true,
      algorithm: algorithm as RateLimitAlgorithm,
      limit: limit as number,
      periodMs: periodMs as number,
      burst: burst as number,
      aligned: aligned as boolean,
    };
    if (capacity(policy) * policy.periodMs > MAX_CAPACITY_TIMES_PERIOD) {
      errors.limit = `(limit + burst) × periodMs must not exceed 2^51; use a shorter period or a smaller limit`;
    } else {
      return policy;
    }
  }
  const detail = Object.entries(errors)
    .map(([field, problem]) => `${field} ${problem}`)
    .join("; ");
  throw new HttpError(422, "INVALID_POLICY", `The rate-limit policy is invalid: ${detail}.`, { errors });
}

/** True when `value` carries any inline policy field. */
export function hasInlineFields(value: Record<string, unknown>): boolean {
  return INLINE_FIELDS.some((field) => value[field] !== undefined);
}

/**
 * Turns a config policy into a `Policy`. Config values were checked at startup; the ranges the
 * algorithms need are checked here too, and a config that breaks them is the operator's error (500).
 * Windows ignore `burst` (documented in docs/rate-limiting.md).
 */
export function configPolicy(name: string, config: RateLimitPolicyConfig): Policy {
  const algorithm = config.algorithm ?? "gcra";
  const windowed = algorithm === "sliding_window" || algorithm === "fixed_window";
  try {
    return {
      ...inlinePolicy(
        {
          limit: config.limit,
          periodMs: config.periodMs,
          burst: windowed ? 0 : (config.burst ?? 0),
          algorithm,
          aligned: algorithm === "fixed_window" ? (config.aligned ?? false) : false,
        },
        name,
      ),
      inline: false,
    };
  } catch (cause) {
    throw new HttpError(
      500,
      "POLICY_MISCONFIGURED",
      `rateLimits.policies.${name} in actorbase.config.ts is out of range: ${(cause as Error).message}`,
      { cause },
    );
  }
}

function isIntegerIn(value: unknown, min: number, max: number): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= min && value <= max;
}
