import { SignJWT } from "jose";
import { inject } from "vitest";
import { E2E_VARS } from "./secrets";

export const baseUrl = (): string => inject("baseUrl");

/** Signs an HS256 token with the e2e server's secret. */
export async function token(sub: string, claims: Record<string, unknown> = {}, ttlSeconds = 3600): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ ...claims })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(sub)
    .setIssuedAt(now)
    .setExpirationTime(now + ttlSeconds)
    .sign(new TextEncoder().encode(E2E_VARS.JWT_SECRET));
}

export const SERVICE_HEADERS = { Authorization: `Bearer ${E2E_VARS.SERVICE_KEY}` } as const;

/** A fetch against the real server. */
export function api(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(baseUrl() + path, init);
}

/** A unique suffix so every test uses its own blocks. */
export function unique(prefix: string): string {
  return `${prefix}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
}
