/**
 * What the accounts routes accept: JSON bodies with known fields, emails (trimmed and lowercased),
 * passwords of 8 to 256 characters, user `data`, and the opaque tokens the service hands out.
 */
import { SESSION_ID, USER_ID } from "../../objects/account/contract";
import { HttpError } from "../../shared/errors";
import { config } from "../config";
import { readJson } from "../middleware/body";

export const MIN_PASSWORD = 8;
export const MAX_PASSWORD = 256;
/** Largest `data` of a user, as JSON. */
export const MAX_USER_DATA_BYTES = 16_384;
const MAX_EMAIL = 254;
// Deliberately plain: one @, a dot in the domain, no spaces. Deliverability is what verification proves.
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Reads a JSON object whose fields are all in `allowed` (400 otherwise). */
export async function readFields(request: Request, allowed: readonly string[]): Promise<Record<string, unknown>> {
  const body = await readJson(request, Math.min(config.limits.maxBodyBytes, 65_536));
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw badRequest("The body must be a JSON object.");
  const unknown = Object.keys(body).filter((field) => !allowed.includes(field));
  if (unknown.length > 0) throw badRequest(`Unknown field(s) ${unknown.map((f) => `"${f}"`).join(", ")}; see docs/auth.md.`);
  return body as Record<string, unknown>;
}

/** A string field that must be present. */
export function stringField(fields: Record<string, unknown>, name: string): string {
  const value = fields[name];
  if (typeof value !== "string") throw badRequest(`"${name}" must be a string.`);
  return value;
}

/** The email as stored and looked up: trimmed, lowercased and well-formed (422 `INVALID_EMAIL`). */
export function normalizeEmail(raw: string): string {
  const email = raw.trim().toLowerCase();
  if (email.length > MAX_EMAIL || !EMAIL.test(email)) throw new HttpError(422, "INVALID_EMAIL", "That is not an email address.");
  return email;
}

/** A new password: 8 to 256 characters (422 `WEAK_PASSWORD`). */
export function checkPassword(password: string): string {
  const length = [...password].length;
  if (length < MIN_PASSWORD || length > MAX_PASSWORD)
    throw new HttpError(422, "WEAK_PASSWORD", `Passwords are ${MIN_PASSWORD} to ${MAX_PASSWORD} characters long.`);
  return password;
}

/** User `data`: a JSON object of at most MAX_USER_DATA_BYTES. */
export function userData(value: unknown): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw badRequest('"data" must be a JSON object.');
  if (new TextEncoder().encode(JSON.stringify(value)).byteLength > MAX_USER_DATA_BYTES)
    throw new HttpError(413, "BODY_TOO_LARGE", `"data" is larger than ${MAX_USER_DATA_BYTES} bytes.`);
  return value as Record<string, unknown>;
}

/** A refresh token's parts: `<user id>.<session id>.<secret>`, else 401 `INVALID_REFRESH_TOKEN`. */
export function parseRefreshToken(token: string): { userId: string; sessionId: string; secret: string } {
  const [userId = "", sessionId = "", secret = "", extra] = token.split(".");
  if (extra !== undefined || !USER_ID.test(userId) || !SESSION_ID.test(sessionId) || !/^[A-Za-z0-9_-]{43}$/.test(secret))
    throw new HttpError(401, "INVALID_REFRESH_TOKEN", "This refresh token is not valid; sign in again.");
  return { userId, sessionId, secret };
}

/** An email token's parts: `<user id>.<secret>`, else 400 `INVALID_EMAIL_TOKEN`. */
export function parseEmailToken(token: string): { userId: string; secret: string } {
  const [userId = "", secret = "", extra] = token.split(".");
  if (extra !== undefined || !USER_ID.test(userId) || !/^[A-Za-z0-9_-]{43}$/.test(secret))
    throw new HttpError(400, "INVALID_EMAIL_TOKEN", "This link is invalid, used already or expired; ask for a new one.");
  return { userId, secret };
}

export function badRequest(detail: string): HttpError {
  return new HttpError(400, "INVALID_REQUEST", detail);
}
