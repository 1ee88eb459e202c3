/**
 * The IdentityDO's contract: one actor per way of signing in (a normalised email, or an OAuth
 * provider and subject), holding the account it belongs to. An identity is claimed by at most one
 * account because the actor answers its calls one at a time: the first claim wins, with no lock
 * and no scan. Imports only `shared/`.
 */
import type { RpcResult } from "../../shared/rpc";

/** Who owns the identity after a claim: `claimed` when it is `accountId`, `fresh` when this call made it so. */
export interface Claim {
  accountId: string;
  claimed: boolean;
  fresh: boolean;
  claimedAt: number;
}

export interface IdentityRpc {
  /** Claims the identity for `accountId` unless it belongs to an account already; answers the owner (and since when) either way. */
  claim(accountId: string): Promise<RpcResult<Claim>>;
  /** Moves the identity from `staleAccountId` to `accountId`, only if the first still owns it (an account never created). */
  replace(staleAccountId: string, accountId: string): Promise<RpcResult<Claim>>;
  /** The account the identity belongs to, or null. */
  owner(): Promise<RpcResult<string | null>>;
  /** Frees the identity if `accountId` owns it (a signup that failed after its claim). */
  release(accountId: string): Promise<RpcResult<{ released: boolean }>>;
  /**
   * Spends what checking a password costs, here: a signin for an email with no account then makes
   * as many actor calls as one for a known email (one call fewer is measurable on a busy server).
   */
  spendPasswordCheck(password: string): Promise<RpcResult<null>>;
}

/** The identity actor for a normalised email. */
export function emailIdentity(env: Env, email: string): IdentityRpc {
  return env.IDENTITIES.getByName(`email:${email}`);
}

/** The identity actor for an OAuth provider's subject. */
export function providerIdentity(env: Env, provider: string, subject: string): IdentityRpc {
  return env.IDENTITIES.getByName(`oauth:${provider}:${subject}`);
}
