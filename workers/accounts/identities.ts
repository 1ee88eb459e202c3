/**
 * Claiming an email for an account. An identity claimed by a signup that stopped before making its
 * account (a crash between the two calls) belongs to nobody: once the claim is old enough for that
 * signup to have finished, a later claim takes it over.
 */
import { accountFor } from "../../objects/account/contract";
import { type Claim, emailIdentity } from "../../objects/identity/contract";
import { unwrap } from "../../shared/rpc";

/** How old a claim must be before the claim of a missing account may be taken over. */
export const ORPHAN_AFTER_MS = 60_000;

/** Claims `email` for `userId`, taking over a claim whose account was never made. */
export async function claimEmail(env: Env, email: string, userId: string): Promise<Claim> {
  const identity = emailIdentity(env, email);
  const claim = unwrap(await identity.claim(userId));
  if (claim.claimed || !(await abandoned(env, claim))) return claim;
  return unwrap(await identity.replace(claim.accountId, userId));
}

/** The account the email belongs to, unless none does (or only an abandoned claim). */
export async function emailOwner(env: Env, email: string): Promise<string | null> {
  const owner = unwrap(await emailIdentity(env, email).owner());
  if (owner === null) return null;
  return unwrap(await accountFor(env, owner).exists()) ? owner : null;
}

async function abandoned(env: Env, claim: Claim): Promise<boolean> {
  return Date.now() - claim.claimedAt > ORPHAN_AFTER_MS && !unwrap(await accountFor(env, claim.accountId).exists());
}
