/**
 * The SigningKeysDO's contract: the one actor (named `keys`) that holds the key pairs the accounts
 * service signs access tokens with, and the isolate's caches of them. The Worker signs with the
 * current private key and verifies with the published public keys, both fetched from the actor and
 * kept for a minute, so a rotation reaches every isolate within that time. Imports only `shared/`
 * and the app config.
 */
import { type JWK, type JWTVerifyGetKey, createLocalJWKSet, importJWK } from "jose";
import config from "../../actorbase.config";
import { OWN_ALG, OWN_KID_PREFIX, type OwnTokens } from "../../shared/auth";
import { type RpcResult, unwrap } from "../../shared/rpc";

/** The key that signs new tokens: its id and its private half as a JWK. */
export interface SigningKey {
  kid: string;
  privateJwk: JWK;
}

/** The algorithm every key is made for; key ids start with OWN_KID_PREFIX (shared/auth.ts). */
export const SIGNING_ALG = OWN_ALG;
export { OWN_KID_PREFIX };

export interface SigningKeysRpc {
  /** The key that signs now; the first call creates it. */
  current(): Promise<RpcResult<SigningKey>>;
  /** The public keys that verify: the current one and retired ones whose tokens may still be alive. */
  publicKeys(): Promise<RpcResult<{ keys: JWK[] }>>;
  /** Makes a new key the signing one; the old one keeps verifying for `retainMs`. */
  rotate(retainMs: number): Promise<RpcResult<{ kid: string; retired: string | null }>>;
}

/** The actor (one per deployment). */
export function signingKeys(env: Env): SigningKeysRpc {
  return env.SIGNING_KEYS.getByName("keys");
}

/** How long an isolate keeps what it fetched before asking again. */
export const KEY_CACHE_MS = 60_000;
/** Least time between two fetches of the public keys caused by an unknown `kid`. */
const UNKNOWN_KID_PAUSE_MS = 2_000;

let signer: { kid: string; key: CryptoKey; at: number } | null = null;
let verifier: { jwks: { keys: JWK[] }; kids: Set<string>; getKey: JWTVerifyGetKey; at: number } | null = null;

/** The current signing key, imported, from this isolate's cache when fresh. */
export async function currentSigner(env: Env): Promise<{ kid: string; key: CryptoKey }> {
  const now = Date.now();
  if (signer !== null && now - signer.at < KEY_CACHE_MS) return signer;
  const { kid, privateJwk } = unwrap(await signingKeys(env).current());
  signer = { kid, key: (await importJWK(privateJwk, SIGNING_ALG)) as CryptoKey, at: now };
  return signer;
}

/**
 * A key resolver for jose's `jwtVerify` over the published public keys, refreshed after a minute
 * or when a token names a key this isolate has not seen (at most every 2 s).
 */
export async function ownKeyResolver(env: Env, kid: string | undefined): Promise<JWTVerifyGetKey> {
  return (await publicKeySet(env, kid)).getKey;
}

/** The public keys as `/.well-known/jwks.json` publishes them, from this isolate's cache when fresh. */
export async function publishedKeys(env: Env): Promise<{ keys: JWK[] }> {
  return (await publicKeySet(env, undefined)).jwks;
}

async function publicKeySet(env: Env, kid: string | undefined): Promise<NonNullable<typeof verifier>> {
  const now = Date.now();
  const stale = verifier === null || now - verifier.at >= KEY_CACHE_MS;
  const unknown = verifier !== null && kid !== undefined && !verifier.kids.has(kid) && now - verifier.at >= UNKNOWN_KID_PAUSE_MS;
  if (verifier === null || stale || unknown) {
    const jwks = unwrap(await signingKeys(env).publicKeys());
    verifier = { jwks, kids: new Set(jwks.keys.map((key) => String(key.kid))), getKey: createLocalJWKSet(jwks), at: now };
  }
  return verifier;
}

const ownByEnv = new WeakMap<Env, OwnTokens>();

/** What shared/auth.ts needs to verify the server's own tokens (one object per environment). */
export function ownTokens(env: Env): OwnTokens {
  let own = ownByEnv.get(env);
  if (own === undefined) {
    own = { issuer: config.auth.issuer, keys: (kid) => ownKeyResolver(env, kid) };
    ownByEnv.set(env, own);
  }
  return own;
}

/** Forgets this isolate's keys (after a rotation through this isolate, and in tests). */
export function forgetKeys(): void {
  signer = null;
  verifier = null;
}
