/**
 * The RateLimiterDO's contract: its RPC surface, which key maps to which actor, and the per-key
 * handle the rate-limit API route and the platform limiter middleware use. `RateLimiterDO
 * implements RateLimiterRpc`, so the compiler refuses a signature that drifts. Imports only from
 * `shared/` and the app config.
 */
import config from "../../actorbase.config";
import type { Decision, DecideInput, Lease } from "../../shared/rate-limit/decision";
import type { Policy } from "../../shared/rate-limit/policy";
import type { RpcResult } from "../../shared/rpc";

/**
 * The RateLimiterDO's RPC surface (docs/rate-limiting.md). Every call names the key it is about:
 * an actor serves every key of its shard, each key by exactly one actor, so decisions stay exact.
 */
export interface RateLimiterRpc {
  /** Decides a request of `cost` units against all its policies (all must allow; a denial debits none). */
  decide(key: string, input: DecideInput): Promise<RpcResult<Decision>>;
  /** Reports what the policies allow right now (one unit), changing nothing. */
  peek(key: string, policies: Policy[]): Promise<RpcResult<Decision>>;
  /** Forgets the given policies' state on the key (all its state and remembered answers when null). */
  reset(key: string, policies: Policy[] | null): Promise<RpcResult<{ cleared: number }>>;
  /** Debits up to `want` units at once for the platform limiter's isolate tier, which hands them out locally. */
  lease(key: string, policy: Policy, want: number): Promise<RpcResult<Lease>>;
}

/** One key's limiter: the RPC surface with the key filled in. */
export interface KeyLimiter {
  decide(input: DecideInput): Promise<RpcResult<Decision>>;
  peek(policies: Policy[]): Promise<RpcResult<Decision>>;
  reset(policies: Policy[] | null): Promise<RpcResult<{ cleared: number }>>;
  lease(policy: Policy, want: number): Promise<RpcResult<Lease>>;
}

/**
 * The actor that serves `key` when keys are spread over `shards` actors: `limits:<shards>:<i>`,
 * with i from a 32-bit FNV-1a hash of the key. The count is part of the name, so a changed count
 * starts on actors of its own and the old ones clean themselves up. With 0 shards every key is
 * its own actor, named by the key.
 */
export function limiterName(key: string, shards: number): string {
  if (shards === 0) return key;
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  return `limits:${shards}:${(hash >>> 0) % shards}`;
}

/**
 * The limiter for one key. API keys are named `key:<key>` and platform callers
 * `platform:<caller>`, so the two name spaces never meet.
 */
export function limiterFor(env: Env, key: string, shards = config.rateLimits.shards): KeyLimiter {
  const actor: RateLimiterRpc = env.RATE_LIMITER.getByName(limiterName(key, shards));
  return {
    decide: (input) => actor.decide(key, input),
    peek: (policies) => actor.peek(key, policies),
    reset: (policies) => actor.reset(key, policies),
    lease: (policy, want) => actor.lease(key, policy, want),
  };
}
