/**
 * Sends the accounts service's mail through `AUTH_MAILER`: `log` (the development default) writes a
 * line without the token and keeps the message in the OutboxDO for `GET /api/auth/outbox`;
 * `webhook:<url>` POSTs the message as JSON to the operator's mail service.
 */
import { type Mail, outbox } from "../../objects/outbox/contract";
import { HttpError } from "../../shared/errors";
import { unwrap } from "../../shared/rpc";

const SUBJECTS: Record<Mail["kind"], string> = { verify: "Confirm your email address", reset: "Reset your password" };
const TEXTS: Record<Mail["kind"], string> = {
  verify: "Use this code to confirm your email address (valid for 24 hours): ",
  reset: "Use this code to set a new password (valid for 1 hour): ",
};

/** How long the mail service has to take a message. */
const WEBHOOK_TIMEOUT_MS = 10_000;

/** Composes and sends one message; 503 when the webhook does not take it. */
export async function sendMail(env: Env, to: string, kind: Mail["kind"], token: string): Promise<void> {
  const mail: Mail = { to, subject: SUBJECTS[kind], text: `${TEXTS[kind]}${token}`, kind, token, sentAt: new Date().toISOString() };
  const mailer = (env.AUTH_MAILER ?? "").trim() || "log";
  if (mailer === "log") {
    console.log(JSON.stringify({ level: "info", msg: "mail kept in the outbox (GET /api/auth/outbox)", to, kind }));
    unwrap(await outbox(env).append(mail));
    return;
  }
  if (!mailer.startsWith("webhook:")) throw new HttpError(500, "AUTH_MISCONFIGURED", 'AUTH_MAILER must be "log" or "webhook:<url>".');
  let response: Response;
  try {
    response = await fetch(mailer.slice("webhook:".length), {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(mail),
      signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
    });
    await response.body?.cancel();
  } catch (cause) {
    throw new HttpError(503, "TRY_AGAIN_LATER", "The mail service could not be reached; try again.", {
      cause,
      headers: { "Retry-After": "5" },
    });
  }
  if (!response.ok) {
    console.error(JSON.stringify({ level: "error", msg: "mail webhook refused a message", status: response.status, kind }));
    throw new HttpError(503, "TRY_AGAIN_LATER", "The mail service did not take the message; try again.", {
      headers: { "Retry-After": "5" },
    });
  }
}
