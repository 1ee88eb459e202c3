/**
 * The SignInFlowDO's contract: one actor per OAuth sign-in step in progress, named by its secret:
 * `state:<state>` between the redirect to the provider and its callback, then `code:<code>` between
 * the redirect back to the app and the exchange. Either is taken once: a replayed `state` or `code`
 * finds nothing. Each expires on its own (an alarm deletes it). Imports only `shared/`.
 */
import type { RpcResult } from "../../shared/rpc";

/**
 * What the callback needs from the redirect: the provider, the PKCE verifier and nonce toward the
 * provider, where to go back to, and the app's own PKCE challenge for the exchange (if it sent one).
 */
export interface PendingSignIn {
  provider: string;
  codeVerifier: string;
  nonce: string;
  redirectTo: string;
  callbackUrl: string;
  appChallenge: string | null;
}

/** What the exchange needs: the user the callback signed in, and the challenge its verifier must meet. */
export interface SignedInByProvider {
  userId: string;
  appChallenge: string | null;
}

/** How long a user has at the provider, and how long the app has to exchange its code. */
export const STATE_TTL_MS = 10 * 60_000;
export const CODE_TTL_MS = 2 * 60_000;

export interface SignInFlowRpc {
  /** Keeps the step until `ttlMs` from now. */
  put(value: PendingSignIn | SignedInByProvider, ttlMs: number): Promise<RpcResult<void>>;
  /** The step, deleted as it is read; null when unknown, taken already or expired. */
  take(): Promise<RpcResult<PendingSignIn | SignedInByProvider | null>>;
}

export function signInFlow(env: Env, name: `state:${string}` | `code:${string}`): SignInFlowRpc {
  return env.SIGN_IN_FLOWS.getByName(name);
}
