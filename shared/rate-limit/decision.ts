/**
 * What crosses the RateLimiterDO's RPC boundary besides policies: a decision request, the decision
 * it gets, and the lease the platform limiter's isolate tier asks for. Plain, serializable data.
 */
import type { RateLimitAlgorithm } from "../config";
import type { Policy } from "./policy";

export type DecisionMode = "enforce" | "dry_run" | "shadow";

/** The modes a decision request may ask for (`enforce` when absent). */
export const DECISION_MODES: readonly DecisionMode[] = ["enforce", "dry_run", "shadow"];

/** A decision request as the Worker sends it: resolved policies, never config names. */
export interface DecideInput {
  policies: Policy[];
  cost: number;
  mode: DecisionMode;
  /** A retry with the same id (within the longest policy period, at most a day) gets the same answer and debits once. */
  requestId: string | null;
}

/** One policy's part of a decision. */
export interface PolicyResult {
  name: string;
  algorithm: RateLimitAlgorithm;
  limit: number;
  periodMs: number;
  burst: number;
  allowed: boolean;
  remaining: number;
  retryAfterMs: number;
  resetAfterMs: number;
}

/**
 * The answer to a request: `allowed`, and the numbers of the policy that decided it (the denying
 * policy with the longest wait, or when allowed the one with the fewest units left).
 */
export interface Decision {
  allowed: boolean;
  limit: number;
  remaining: number;
  retryAfterMs: number;
  resetAfterMs: number;
  policies: PolicyResult[];
  /** Shadow mode only: what enforce would have answered (`allowed` is then always true). */
  wouldAllow?: boolean;
  /** True when this is the stored answer to an earlier request with the same `requestId`. */
  replayed?: boolean;
}

/**
 * A lease for the platform limiter: a batch of units debited from the actor in one call, which an
 * isolate then hands out locally.
 */
export interface Lease {
  /** Units debited for the caller (0 means denied). */
  granted: number;
  /** Units still available at the actor after the grant. */
  remaining: number;
  /** When denied: ms until one unit is available. */
  retryAfterMs: number;
  /** ms until the policy is fully replenished. */
  resetAfterMs: number;
}
