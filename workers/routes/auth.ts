/**
 * The accounts routes, `/api/auth/...` (docs/auth.md): signup, signin, refresh, signout, the user,
 * anonymous users and linking, and the server's public keys. Each identity (a normalised email) is
 * its own IdentityDO, so one email maps to one account whatever the concurrency; each account is an
 * AccountDO holding its sessions. The email flows are in auth-email.ts.
 */
import { type SignedIn, accountFor } from "../../objects/account/contract";
import { emailIdentity } from "../../objects/identity/contract";
import { KEY_CACHE_MS, forgetKeys, publishedKeys, signingKeys } from "../../objects/signing-keys/contract";
import { CLOCK_TOLERANCE_S } from "../../shared/auth";
import { HttpError } from "../../shared/errors";
import { unwrap } from "../../shared/rpc";
import { randomId, spendPasswordCheck } from "../../shared/secrets";
import { config } from "../config";
import { type AppRequest, json } from "../context";
import { badRequest, checkPassword, normalizeEmail, parseRefreshToken, readFields, stringField, userData } from "../accounts/input";
import { claimEmail } from "../accounts/identities";
import { limitAttempt, limitedRefresh } from "../accounts/limits";
import { ownSession, sessionBody } from "../accounts/session";
import { requireService } from "./admin";

/** POST /api/auth/signup `{email, password, data?}`: 201 `{user, session}`; 409 `EMAIL_TAKEN`. */
export async function signUp(request: AppRequest, env: Env): Promise<Response> {
  const fields = await readFields(request, ["email", "password", "data"]);
  const email = normalizeEmail(stringField(fields, "email"));
  const password = checkPassword(stringField(fields, "password"));
  const data = userData(fields.data);
  await limitAttempt(request, env, `email:${email}`);
  const userId = newUserId();
  const identity = emailIdentity(env, email);
  const claim = await claimEmail(env, email, userId);
  if (!claim.claimed) throw new HttpError(409, "EMAIL_TAKEN", "An account with this email exists; sign in instead.");
  const account = accountFor(env, userId);
  try {
    unwrap(await account.create({ id: userId, email, emailVerified: false, password, anonymous: false, data }));
  } catch (error) {
    unwrap(await identity.release(userId));
    throw error;
  }
  return json(await sessionBody(env, unwrap(await account.startSession())), 201);
}

/** POST /api/auth/signin `{email, password}`: 200 `{user, session}`; unknown email and wrong password alike 401. */
export async function signIn(request: AppRequest, env: Env): Promise<Response> {
  const fields = await readFields(request, ["email", "password"]);
  const rawEmail = stringField(fields, "email");
  const password = stringField(fields, "password");
  const email = rawEmail.trim().toLowerCase();
  const plausible = email.length <= 254 && password.length <= 1_024;
  await limitAttempt(request, env, plausible ? `email:${email}` : null);
  const identity = plausible ? emailIdentity(env, email) : null;
  const owner = identity === null ? null : unwrap(await identity.owner());
  if (owner === null) {
    // The same work as a wrong password, in an actor as a wrong password's is, so timing tells nothing.
    if (identity === null) await spendPasswordCheck(password.slice(0, 1_024));
    else unwrap(await identity.spendPasswordCheck(password));
    throw new HttpError(401, "INVALID_CREDENTIALS", "The email or password is wrong.");
  }
  return json(await sessionBody(env, unwrap(await accountFor(env, owner).signIn(password))));
}

/** POST /api/auth/refresh `{refreshToken}`: 200 a new pair; the token is spent, and a spent one ends its session. */
export async function refresh(request: AppRequest, env: Env): Promise<Response> {
  const fields = await readFields(request, ["refreshToken"]);
  // A malformed token is refused before any actor is asked.
  const { userId, sessionId, secret } = parseRefreshToken(stringField(fields, "refreshToken"));
  const signed = await limitedRefresh(request, env, async () => unwrap(await accountFor(env, userId).refresh(sessionId, secret)));
  return json(await sessionBody(env, signed));
}

/** POST /api/auth/signout `{scope?: "session" | "all"}` (Bearer): 204. */
export async function signOut(request: AppRequest, env: Env): Promise<Response> {
  const { userId, sessionId } = ownSession(request);
  // The body is optional: a bare POST (or an empty one) ends this session.
  const fields =
    request.headers.get("Content-Type") !== null && request.headers.get("Content-Length") !== "0"
      ? await readFields(request, ["scope"])
      : {};
  const scope = fields.scope ?? "session";
  if (scope !== "session" && scope !== "all") throw badRequest('"scope" is "session" or "all".');
  unwrap(await accountFor(env, userId).signOut(sessionId, scope === "all"));
  return new Response(null, { status: 204 });
}

/** GET /api/auth/user (Bearer): 200 `{user}` while the session lives. */
export async function getUser(request: AppRequest, env: Env): Promise<Response> {
  const { userId, sessionId } = ownSession(request);
  return json({ user: unwrap(await accountFor(env, userId).user(sessionId)) });
}

/** PATCH /api/auth/user `{data?, password?, currentPassword?}` (Bearer): 200 `{user}`. */
export async function updateUser(request: AppRequest, env: Env): Promise<Response> {
  const { userId, sessionId } = ownSession(request);
  const fields = await readFields(request, ["data", "password", "currentPassword"]);
  // Guessing the current password is limited like signin, per account and per address.
  if (fields.password !== undefined) await limitAttempt(request, env, `user:${userId}`);
  if (fields.data === undefined && fields.password === undefined) throw badRequest('Send "data", or "password" with "currentPassword".');
  const change = {
    ...(fields.data !== undefined ? { data: userData(fields.data) } : {}),
    ...(fields.password !== undefined
      ? { password: checkPassword(stringField(fields, "password")), currentPassword: stringField(fields, "currentPassword") }
      : {}),
  };
  return json({ user: unwrap(await accountFor(env, userId).update(sessionId, change)) });
}

/** POST /api/auth/anonymous: 201 `{user, session}` for a new anonymous user. */
export async function signInAnonymously(request: AppRequest, env: Env): Promise<Response> {
  await limitAttempt(request, env, null);
  const userId = newUserId();
  const account = accountFor(env, userId);
  unwrap(await account.create({ id: userId, email: null, emailVerified: false, password: null, anonymous: true, data: {} }));
  return json(await sessionBody(env, unwrap(await account.startSession())), 201);
}

/** POST /api/auth/link `{email, password}` (Bearer, anonymous): 200 `{user, session}`, the same id. */
export async function link(request: AppRequest, env: Env): Promise<Response> {
  const { userId, sessionId } = ownSession(request);
  const fields = await readFields(request, ["email", "password"]);
  const email = normalizeEmail(stringField(fields, "email"));
  const password = checkPassword(stringField(fields, "password"));
  await limitAttempt(request, env, `email:${email}`);
  const identity = emailIdentity(env, email);
  const claim = unwrap(await identity.claim(userId));
  if (!claim.claimed) throw new HttpError(409, "EMAIL_TAKEN", "An account with this email exists already.");
  let signed: SignedIn;
  try {
    signed = unwrap(await accountFor(env, userId).link(sessionId, email, password));
  } catch (error) {
    // Only a claim this call made is undone: the account may own the email already (linked before).
    if (claim.fresh) unwrap(await identity.release(userId));
    throw error;
  }
  return json(await sessionBody(env, signed));
}

/** GET /.well-known/jwks.json: the public keys that verify this server's access tokens. */
export async function jwks(_request: AppRequest, env: Env): Promise<Response> {
  return json(await publishedKeys(env), 200, { "Cache-Control": "public, max-age=60" });
}

/**
 * POST /api/auth/keys/rotate (service key): a new key signs from now on; the old one verifies
 * until every token it signed has expired.
 */
export async function rotateKeys(request: AppRequest, env: Env): Promise<Response> {
  requireService(request);
  // Isolates sign with the old key for up to KEY_CACHE_MS after the rotation; its last token lives a TTL more.
  const retainMs = (config.auth.accessTokenTtlSeconds + CLOCK_TOLERANCE_S) * 1000 + KEY_CACHE_MS;
  const rotated = unwrap(await signingKeys(env).rotate(retainMs));
  forgetKeys();
  return json(rotated);
}

/** User ids are `u` and 20 letters or digits: ~103 bits, usable as a block id (`user:<id>`). */
export function newUserId(): string {
  return `u${randomId(20)}`;
}
