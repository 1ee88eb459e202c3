/**
 * Passwords and opaque secrets for the accounts service. Passwords: PBKDF2-SHA256 with a random
 * 16-byte salt at the runtime's maximum iteration count (workerd refuses more than 100,000), kept as
 * `pbkdf2-sha256$<iterations>$<salt>$<hash>` so a later signin can rehash a weaker entry. Refresh,
 * verification and reset tokens are random and stored only as SHA-256 digests.
 */
import { base64url } from "jose";

/** The iteration count new hashes use: the most the runtime allows. */
export const PASSWORD_ITERATIONS = 100_000;

const PREFIX = "pbkdf2-sha256";
const encoder = new TextEncoder();

/** Hashes a password for storage. */
export async function hashPassword(password: string, iterations = PASSWORD_ITERATIONS): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const hash = await derive(password, salt, iterations);
  return `${PREFIX}$${iterations}$${base64url.encode(salt)}$${base64url.encode(hash)}`;
}

/**
 * Checks a password against a stored hash, in constant time over the digest. `rehash` is true when
 * the entry is weaker than what `hashPassword` makes now.
 */
export async function verifyPassword(password: string, stored: string): Promise<{ ok: boolean; rehash: boolean }> {
  const [prefix, rounds, salt, hash] = stored.split("$");
  const iterations = Number(rounds);
  if (prefix !== PREFIX || !Number.isInteger(iterations) || salt === undefined || hash === undefined) return { ok: false, rehash: false };
  const expected = base64url.decode(hash);
  const actual = await derive(password, base64url.decode(salt), iterations);
  const ok = actual.byteLength === expected.byteLength && crypto.subtle.timingSafeEqual(actual, expected);
  return { ok, rehash: ok && iterations < PASSWORD_ITERATIONS };
}

/** Spends what checking a password costs, for an email with no account (signin answers alike either way). */
export async function spendPasswordCheck(password: string): Promise<void> {
  await derive(password, new Uint8Array(16), PASSWORD_ITERATIONS);
}

async function derive(password: string, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", encoder.encode(password), "PBKDF2", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, key, 256);
  return new Uint8Array(bits);
}

/** A random secret of 32 bytes, base64url (43 characters, no dots). */
export function randomSecret(): string {
  return base64url.encode(crypto.getRandomValues(new Uint8Array(32)));
}

/** A random id of `length` lowercase letters and digits. */
export function randomId(length: number): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  let id = "";
  // 252 = 7 × 36: values from 252 up would favour the first letters, so they are redrawn.
  for (let i = 0; i < length; i++) {
    let byte = bytes[i] as number;
    while (byte >= 252) byte = crypto.getRandomValues(new Uint8Array(1))[0] as number;
    id += alphabet[byte % 36];
  }
  return id;
}

/** The SHA-256 of a secret, hex: what is stored in place of the secret. */
export async function digest(secret: string): Promise<string> {
  const bytes = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(secret)));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
