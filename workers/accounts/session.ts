/**
 * Sessions as the client sees them: an access token the server signs (ES256, `kid` of the current
 * key from the SigningKeysDO) beside the refresh token the AccountDO issued, and the check that a
 * request carries one of these access tokens.
 */
import { SignJWT } from "jose";
import type { SignedIn } from "../../objects/account/contract";
import { SIGNING_ALG, currentSigner } from "../../objects/signing-keys/contract";
import type { AuthUser, SessionBody } from "../../shared/config";
import { HttpError } from "../../shared/errors";
import { config } from "../config";
import type { AppRequest } from "../context";

/** Claims the server sets itself; `auth.claims` cannot replace them. */
const RESERVED_CLAIMS = new Set(["sub", "sid", "iss", "iat", "exp", "nbf", "aud", "jti", "email", "anonymous"]);

/** Signs the access token for a user's session and returns the body the client keeps. */
export async function sessionBody(env: Env, signed: SignedIn): Promise<SessionBody> {
  const { user, session } = signed;
  const { kid, key } = await currentSigner(env);
  const now = Math.floor(Date.now() / 1000);
  const expiresAt = now + config.auth.accessTokenTtlSeconds;
  const accessToken = await new SignJWT({ ...customClaims(user), sid: session.id, email: user.email, anonymous: user.anonymous })
    .setProtectedHeader({ alg: SIGNING_ALG, kid, typ: "JWT" })
    .setSubject(user.id)
    .setIssuer(config.auth.issuer)
    .setIssuedAt(now)
    .setExpirationTime(expiresAt)
    .sign(key);
  return { user, session: { accessToken, refreshToken: session.refreshToken, expiresAt: expiresAt * 1000, tokenType: "Bearer" } };
}

/** The config's `auth.claims(user)`, without the reserved names (a throwing hook is the operator's 500). */
function customClaims(user: AuthUser): Record<string, unknown> {
  if (config.auth.claims === null) return {};
  let claims: Record<string, unknown>;
  try {
    claims = config.auth.claims(user);
  } catch (cause) {
    throw new HttpError(500, "AUTH_MISCONFIGURED", "auth.claims in actorbase.config.ts threw; see the server log.", { cause });
  }
  return Object.fromEntries(Object.entries(claims ?? {}).filter(([name]) => !RESERVED_CLAIMS.has(name)));
}

/** The user id and session of a request signed in with a token of this server (401 otherwise). */
export function ownSession(request: AppRequest): { userId: string; sessionId: string } {
  const caller = request.state.caller;
  if (caller?.kind !== "user")
    throw new HttpError(401, "AUTH_REQUIRED", "Sign in: send the access token as Authorization: Bearer <token>.");
  if (caller.sessionId === undefined)
    throw new HttpError(401, "INVALID_TOKEN", "This route needs an access token issued by this server's accounts service.");
  return { userId: caller.sub, sessionId: caller.sessionId };
}
