/**
 * OAuth / OpenID Connect sign-in routes (docs/auth.md, "Sign in with a provider"):
 * `GET /api/auth/oauth/<provider>?redirectTo=&codeChallenge=` sends the browser to the provider; its
 * callback finds or creates the user and sends the browser back to `redirectTo?code=`; the app
 * exchanges that one-time code at `POST /api/auth/oauth/exchange` for a session. `state` and `code`
 * are SignInFlowDOs taken once, so neither can be replayed. With `codeChallenge` (PKCE, S256: the
 * TypeScript client always sends one) the exchange also needs the app's `codeVerifier`, so a code
 * only signs in the app that started the sign-in: someone else's finished sign-in, sent to a
 * victim as a link, does not sign the victim in to the sender's account (login CSRF).
 */
import * as oauth from "oauth4webapi";
import { accountFor } from "../../objects/account/contract";
import { providerIdentity } from "../../objects/identity/contract";
import { CODE_TTL_MS, type PendingSignIn, STATE_TTL_MS, type SignedInByProvider, signInFlow } from "../../objects/sign-in-flow/contract";
import { HttpError } from "../../shared/errors";
import { unwrap } from "../../shared/rpc";
import { randomSecret } from "../../shared/secrets";
import { claimEmail, emailOwner } from "../accounts/identities";
import { badRequest, readFields, stringField } from "../accounts/input";
import { limitAttempt } from "../accounts/limits";
import { type ProviderProfile, authorizationUrl, completeSignIn, findProvider } from "../accounts/oauth";
import { sessionBody } from "../accounts/session";
import { config } from "../config";
import { type AppRequest, json } from "../context";
import { newUserId } from "./auth";

/** GET /api/auth/oauth/:provider?redirectTo=<url>: 302 to the provider. */
export async function startOAuth(request: AppRequest, env: Env): Promise<Response> {
  const redirectTo = allowedRedirect(request, env);
  const appChallenge = typeof request.query.codeChallenge === "string" ? request.query.codeChallenge : null;
  if (appChallenge !== null && !PKCE_VALUE.test(appChallenge))
    throw badRequest("codeChallenge must be a base64url S256 challenge of 43 characters.");
  const provider = await findProvider(env, String(request.params.provider));
  await limitAttempt(request, env, null);
  const state = oauth.generateRandomState();
  const pending: PendingSignIn = {
    provider: provider.name,
    codeVerifier: oauth.generateRandomCodeVerifier(),
    nonce: oauth.generateRandomNonce(),
    redirectTo,
    callbackUrl: `${new URL(request.url).origin}/api/auth/oauth/${provider.name}/callback`,
    appChallenge,
  };
  unwrap(await signInFlow(env, `state:${state}`).put(pending, STATE_TTL_MS));
  return redirect(await authorizationUrl(provider, pending.callbackUrl, state, pending.codeVerifier, pending.nonce));
}

/** GET /api/auth/oauth/:provider/callback: 302 back to the app with `code`, or with `error`. */
export async function oauthCallback(request: AppRequest, env: Env): Promise<Response> {
  const url = new URL(request.url);
  const state = url.searchParams.get("state") ?? "";
  const taken = state.length > 0 && state.length <= 256 ? unwrap(await signInFlow(env, `state:${state}`).take()) : null;
  const pending = taken !== null && "codeVerifier" in taken && taken.provider === request.params.provider ? taken : null;
  if (pending === null)
    throw new HttpError(400, "INVALID_OAUTH_STATE", "This sign-in is unknown, finished already or expired; start it again.");
  const providerError = url.searchParams.get("error");
  // Passed on only as one of OAuth's own error codes: the app may show it, and anyone can write a query string.
  if (providerError !== null)
    return redirect(withParam(pending.redirectTo, "error", PROVIDER_ERRORS.has(providerError) ? providerError : "OAUTH_PROVIDER_FAILED"));
  try {
    const provider = await findProvider(env, pending.provider);
    const profile = await completeSignIn(provider, url, state, pending.codeVerifier, pending.nonce, pending.callbackUrl);
    const trusted = provider.config.linkByEmail ?? provider.config.kind !== "oidc";
    const userId = await findOrCreateUser(env, provider.name, trusted ? profile : { ...profile, email: null, emailVerified: false });
    const code = randomSecret();
    const signedIn: SignedInByProvider = { userId, appChallenge: pending.appChallenge };
    unwrap(await signInFlow(env, `code:${code}`).put(signedIn, CODE_TTL_MS));
    return redirect(withParam(pending.redirectTo, "code", code));
  } catch (error) {
    const code = error instanceof HttpError ? error.code : "OAUTH_PROVIDER_FAILED";
    if (!(error instanceof HttpError) || error.status >= 500)
      console.error(JSON.stringify({ level: "error", msg: "oauth callback failed", provider: pending.provider, error: String(error) }));
    return redirect(withParam(pending.redirectTo, "error", code));
  }
}

/** POST /api/auth/oauth/exchange `{code, codeVerifier?}`: 200 `{user, session}`, once per code. */
export async function exchangeCode(request: AppRequest, env: Env): Promise<Response> {
  const fields = await readFields(request, ["code", "codeVerifier"]);
  const code = stringField(fields, "code");
  const verifier = fields.codeVerifier === undefined ? null : stringField(fields, "codeVerifier");
  await limitAttempt(request, env, null);
  const taken = PKCE_VALUE.test(code) ? unwrap(await signInFlow(env, `code:${code}`).take()) : null;
  if (taken === null || !("userId" in taken))
    throw new HttpError(400, "INVALID_OAUTH_CODE", "This code is unknown, used already or expired; sign in again.");
  if (taken.appChallenge !== null && !(await meetsChallenge(verifier, taken.appChallenge)))
    throw new HttpError(
      400,
      "INVALID_OAUTH_CODE",
      "This code belongs to a sign-in another app started (the codeVerifier does not match); sign in again.",
    );
  return json(await sessionBody(env, unwrap(await accountFor(env, taken.userId).startSession())));
}

async function meetsChallenge(verifier: string | null, challenge: string): Promise<boolean> {
  return verifier !== null && PKCE_VERIFIER.test(verifier) && (await oauth.calculatePKCECodeChallenge(verifier)) === challenge;
}

/**
 * The account for a provider's subject: the one it signed in before; else the account whose email
 * the provider verified (which then trusts that email); else a new account. Identities are claimed
 * in their actors, so concurrent callbacks for one person agree on one account.
 */
export async function findOrCreateUser(env: Env, providerName: string, profile: ProviderProfile): Promise<string> {
  const byProvider = providerIdentity(env, providerName, profile.subject);
  const known = unwrap(await byProvider.owner());
  if (known !== null) return known;
  const email = profile.emailVerified ? profile.email : null;
  let userId = email === null ? null : await emailOwner(env, email);
  if (userId === null) {
    const fresh = newUserId();
    unwrap(
      await accountFor(env, fresh).create({ id: fresh, email, emailVerified: email !== null, password: null, anonymous: false, data: {} }),
    );
    // An account that loses the race for the email below is never reachable; it holds no data.
    userId = email === null ? fresh : (await claimEmail(env, email, fresh)).accountId;
  }
  if (email !== null) unwrap(await accountFor(env, userId).trustEmail());
  return unwrap(await byProvider.claim(userId)).accountId;
}

/** `redirectTo` when the allow-list has it: the server's own origin, `auth.redirectUrls`, `AUTH_REDIRECT_URLS`. */
function allowedRedirect(request: AppRequest, env: Env): string {
  const raw = typeof request.query.redirectTo === "string" ? request.query.redirectTo : "";
  let target: URL | null = null;
  try {
    target = new URL(raw);
  } catch {
    target = null;
  }
  const allowed = [`${new URL(request.url).origin}/`, ...config.auth.redirectUrls, ...(env.AUTH_REDIRECT_URLS ?? "").split(",")]
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0)
    .map(allowListEntry);
  const ok =
    target !== null &&
    /^https?:$/.test(target.protocol) &&
    target.username === "" &&
    target.password === "" &&
    allowed.some((prefix) => prefix.origin === target.origin && target.pathname.startsWith(prefix.pathname));
  if (!ok)
    throw new HttpError(
      400,
      "INVALID_REDIRECT",
      "redirectTo must be an http(s) URL on the allow-list (auth.redirectUrls, AUTH_REDIRECT_URLS).",
    );
  return (target as URL).href;
}

/** The error codes of RFC 6749 section 4.1.2.1 and OpenID Connect Core 3.1.2.6. */
const PROVIDER_ERRORS = new Set([
  "invalid_request",
  "unauthorized_client",
  "access_denied",
  "unsupported_response_type",
  "invalid_scope",
  "server_error",
  "temporarily_unavailable",
  "interaction_required",
  "login_required",
  "account_selection_required",
  "consent_required",
]);

/** A base64url SHA-256 (a PKCE S256 challenge, or a one-time code). */
const PKCE_VALUE = /^[A-Za-z0-9_-]{43}$/;
/** A PKCE verifier (RFC 7636: 43 to 128 unreserved characters). */
const PKCE_VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;

function allowListEntry(entry: string): URL {
  try {
    const url = new URL(entry);
    if (/^https?:$/.test(url.protocol)) return url;
  } catch {
    // reported below
  }
  throw new HttpError(
    500,
    "AUTH_MISCONFIGURED",
    `The redirect allow-list has ${JSON.stringify(entry)}, which is not an http(s) URL; fix AUTH_REDIRECT_URLS or auth.redirectUrls.`,
  );
}

function withParam(url: string, name: string, value: string): string {
  const target = new URL(url);
  target.searchParams.set(name, value);
  return target.href;
}

function redirect(location: string): Response {
  return new Response(null, { status: 302, headers: { Location: location, "Cache-Control": "no-store" } });
}
