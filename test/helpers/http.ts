import { exports } from "cloudflare:workers";
import { SignJWT } from "jose";
import { TEST_SECRETS } from "../env";

/** Sends a request through the Worker's real fetch handler. */
export function call(path: string, init: RequestInit = {}): Promise<Response> {
  return exports.default.fetch(new Request(`https://actorbase.test${path}`, init));
}

/** Signs an HS256 token with the test secret; `exp` one hour out unless overridden. */
export async function token(sub: string, claims: Record<string, unknown> = {}, ttlSeconds = 3600): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ ...claims })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(sub)
    .setIssuedAt(now)
    .setExpirationTime(now + ttlSeconds)
    .sign(new TextEncoder().encode(TEST_SECRETS.JWT_SECRET));
}

/** Headers for a signed-in caller. */
export async function as(sub: string, claims: Record<string, unknown> = {}): Promise<Record<string, string>> {
  return { Authorization: `Bearer ${await token(sub, claims)}` };
}

/** Headers for the service key. */
export const SERVICE = { Authorization: `Bearer ${TEST_SECRETS.SERVICE_KEY}` } as const;

/** Sends JSON with the right content type. */
export function jsonInit(method: string, body: unknown, headers: Record<string, string> = {}): RequestInit {
  return { method, body: JSON.stringify(body), headers: { "Content-Type": "application/json", ...headers } };
}

/** Asserts nothing; reads a problem+json body for assertions. */
export async function problem(
  response: Response,
): Promise<{ status: number; code: string; detail: string; errors?: Record<string, string> }> {
  return (await response.json()) as { status: number; code: string; detail: string };
}
