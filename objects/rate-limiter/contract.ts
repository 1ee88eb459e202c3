/**
 * The RateLimiterDO's contract: its RPC surface and the stub factory. The rate-limit API route and
 * the platform limiter middleware use only this module; `RateLimiterDO implements RateLimiterRpc`,
 * so the compiler refuses a signature that drifts. Imports only from `shared/`.
 */
import type { Decision, DecideInput, Lease } from "../../shared/rate-limit/decision";
import type { Policy } from "../../shared/rate-limit/policy";
import type { RpcResult } from "../../shared/rpc";

/** The RateLimiterDO's RPC surface (docs/rate-limiting.md). One actor per key. */
export interface RateLimiterRpc {
  /** Decides a request of `cost` units against all its policies (all must allow; a denial debits none). */
  decide(input: DecideInput): Promise<RpcResult<Decision>>;
  /** Reports what the policies allow right now (one unit), changing nothing. */
  peek(policies: Policy[]): Promise<RpcResult<Decision>>;
  /** Forgets the given policies' state on this key (all state and remembered answers when null). */
  reset(policies: Policy[] | null): Promise<RpcResult<{ cleared: number }>>;
  /** Debits up to `want` units at once for the platform limiter's isolate tier, which hands them out locally. */
  lease(policy: Policy, want: number): Promise<RpcResult<Lease>>;
}

/**
 * The RateLimiterDO for an actor name. API keys are named `key:<key>` and platform callers
 * `platform:<caller>`, so the two name spaces never meet.
 */
export function limiterFor(env: Env, name: string): RateLimiterRpc {
  return env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(name));
}
