/**
 * The accounts service's email flows (docs/auth.md): proving an address and resetting a password
 * with single-use tokens (verify 24 h, reset 1 h) sent through `AUTH_MAILER`, and the development
 * outbox. Recover answers 202 at once, whether or not the email has an account: the lookup and the
 * mail happen after the answer, so neither the status nor the timing tells.
 */
import { accountFor } from "../../objects/account/contract";
import { emailIdentity } from "../../objects/identity/contract";
import { outbox } from "../../objects/outbox/contract";
import { unwrap } from "../../shared/rpc";
import { checkPassword, normalizeEmail, parseEmailToken, readFields, stringField } from "../accounts/input";
import { limitAttempt } from "../accounts/limits";
import { sendMail } from "../accounts/mailer";
import { ownSession } from "../accounts/session";
import { type AppRequest, json } from "../context";
import { requireService } from "./admin";

/** POST /api/auth/verify/request (Bearer): 202; mails a verification token to the user's address. */
export async function requestVerification(request: AppRequest, env: Env): Promise<Response> {
  const { userId, sessionId } = ownSession(request);
  await limitAttempt(request, env, `user:${userId}`); // each one mails someone
  const account = accountFor(env, userId);
  unwrap(await account.user(sessionId));
  const { token, email } = unwrap(await account.emailToken("verify"));
  await sendMail(env, email, "verify", token);
  return json({ sent: true }, 202);
}

/** POST /api/auth/verify `{token}`: 200 `{user}` with `emailVerified: true`. */
export async function verifyEmail(request: AppRequest, env: Env): Promise<Response> {
  const fields = await readFields(request, ["token"]);
  const { userId, secret } = parseEmailToken(stringField(fields, "token"));
  await limitAttempt(request, env, null);
  return json({ user: unwrap(await accountFor(env, userId).useEmailToken("verify", secret)) });
}

/** POST /api/auth/recover `{email}`: 202 always; an account with that email is mailed a reset token. */
export async function recover(request: AppRequest, env: Env, ctx: ExecutionContext): Promise<Response> {
  const fields = await readFields(request, ["email"]);
  const email = normalizeEmail(stringField(fields, "email"));
  await limitAttempt(request, env, `email:${email}`);
  ctx.waitUntil(mailReset(env, email));
  return json({ sent: true }, 202);
}

async function mailReset(env: Env, email: string): Promise<void> {
  try {
    const owner = unwrap(await emailIdentity(env, email).owner());
    if (owner === null) return;
    const { token } = unwrap(await accountFor(env, owner).emailToken("reset"));
    await sendMail(env, email, "reset", token);
  } catch (error) {
    console.error(JSON.stringify({ level: "error", msg: "password reset mail failed", error: String(error) }));
  }
}

/** POST /api/auth/reset `{token, password}`: 200 `{user}`; every session of the user ends. */
export async function resetPassword(request: AppRequest, env: Env): Promise<Response> {
  const fields = await readFields(request, ["token", "password"]);
  const { userId, secret } = parseEmailToken(stringField(fields, "token"));
  const password = checkPassword(stringField(fields, "password"));
  await limitAttempt(request, env, null);
  return json({ user: unwrap(await accountFor(env, userId).useEmailToken("reset", secret, password)) });
}

/** GET /api/auth/outbox?to=&limit= (service key): the mail `AUTH_MAILER=log` kept, newest first. */
export async function readOutbox(request: AppRequest, env: Env): Promise<Response> {
  requireService(request);
  const to = typeof request.query.to === "string" ? request.query.to.trim().toLowerCase() : null;
  const limit = Math.min(200, Math.max(1, Number(request.query.limit ?? 50) || 50));
  return json({ items: unwrap(await outbox(env).list(to, limit)) });
}
