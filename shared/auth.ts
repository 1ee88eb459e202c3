/**
 * Credential verification, local and offline: JWTs with jose (HS256 from `JWT_SECRET`, RS256/ES256/EdDSA
 * from the inline `JWT_JWKS`) and the service key compared in constant time. Used by the Worker's auth
 * middleware and by the RealtimeDO when a socket refreshes its token.
 */
import {
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
  createLocalJWKSet,
  decodeProtectedHeader,
  errors,
  jwtVerify,
} from "jose";
import type { Caller } from "./caller";
import { HttpError } from "./errors";

export interface AuthSettings {
  JWT_SECRET?: string;
  JWT_JWKS?: string;
  JWT_ISSUER?: string;
  JWT_AUDIENCE?: string;
  SERVICE_KEY?: string;
}

/** Tokens longer than this are refused before any parsing. */
export const MAX_TOKEN_BYTES = 8_192;
/** Allowed clock skew for `exp` and `nbf`, in seconds (the contract allows at most 60). */
export const CLOCK_TOLERANCE_S = 30;

const ASYMMETRIC_ALGS = ["RS256", "ES256", "EdDSA", "Ed25519"];

/** Key ids of the server's own signing keys start with this (objects/signing-keys). */
export const OWN_KID_PREFIX = "ab-";
/** The algorithm of the server's own keys. */
export const OWN_ALG = "ES256";

/**
 * How to verify the tokens the accounts service signs: its issuer, and the public key for a `kid`
 * (from the SigningKeysDO, cached per isolate). Tokens whose `kid` starts with OWN_KID_PREFIX are
 * checked against these alone; every other token against JWT_SECRET or JWT_JWKS as before.
 */
export interface OwnTokens {
  issuer: string;
  keys: (kid: string) => Promise<JWTVerifyGetKey>;
}

type JwksGetter = ReturnType<typeof createLocalJWKSet>;
// Imported keys are cached per secret / key set so each isolate imports them once, not per request.
const secretKeys = new Map<string, Promise<CryptoKey>>();
const keySets = new Map<string, JwksGetter>();

function secretKey(secret: string): Promise<CryptoKey> {
  let key = secretKeys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
    secretKeys.set(secret, key);
  }
  return key;
}

// Verified tokens, so a client sending the same token again skips the signature check. A token's
// verdict cannot change before its exp (a secret or JWT_JWKS change redeploys the isolate; a
// rotated own key keeps verifying until its tokens expire), and entries are checked against exp
// and nbf on every hit. Bounded; the oldest entry goes first.
const VERIFIED_CACHE_SIZE = 1_024;
const verified = new Map<string, { caller: Caller & { kind: "user" }; notBefore: number; fingerprint: string }>();

/** Fingerprints by settings object: the Worker passes the same `env` to every request of an isolate. */
const fingerprints = new WeakMap<AuthSettings, string>();

/** What a verdict depends on besides the token: the keys and the iss/aud checks. */
function fingerprint(settings: AuthSettings): string {
  let print = fingerprints.get(settings);
  if (print === undefined) {
    print = `${settings.JWT_SECRET ?? ""}\n${settings.JWT_JWKS ?? ""}\n${settings.JWT_ISSUER ?? ""}\n${settings.JWT_AUDIENCE ?? ""}`;
    fingerprints.set(settings, print);
  }
  return print;
}

function keySet(jwks: string): JwksGetter {
  let getter = keySets.get(jwks);
  if (!getter) {
    let parsed: JSONWebKeySet;
    try {
      parsed = JSON.parse(jwks) as JSONWebKeySet;
    } catch (cause) {
      throw new HttpError(500, "AUTH_MISCONFIGURED", "JWT_JWKS is not valid JSON; fix the Worker secret.", { cause });
    }
    getter = createLocalJWKSet(parsed);
    keySets.set(jwks, getter);
  }
  return getter;
}

function invalid(detail: string, cause?: unknown): HttpError {
  return new HttpError(401, "INVALID_TOKEN", detail, cause === undefined ? {} : { cause });
}

/**
 * The caller of a token this isolate verified before under the same settings, while it is within
 * its `nbf` and `exp`; else null. No crypto and no await: the request path's common case.
 */
export function rememberedCaller(token: string, settings: AuthSettings): (Caller & { kind: "user" }) | null {
  const hit = verified.get(token);
  if (hit === undefined || hit.fingerprint !== fingerprint(settings)) return null;
  const now = Date.now();
  if (now < hit.caller.expiresAt + CLOCK_TOLERANCE_S * 1000 && now >= hit.notBefore - CLOCK_TOLERANCE_S * 1000) return hit.caller;
  verified.delete(token);
  return null;
}

/**
 * Verifies a JWT and returns the signed-in caller. Every failure is a 401: `TOKEN_EXPIRED` for an
 * expired token, `INVALID_TOKEN` for everything else (bad signature, alg none, unknown kid, ...).
 */
export async function verifyToken(token: string, settings: AuthSettings, own?: OwnTokens): Promise<Caller & { kind: "user" }> {
  if (token.length > MAX_TOKEN_BYTES) throw invalid(`The token is larger than ${MAX_TOKEN_BYTES} bytes.`);
  const remembered = rememberedCaller(token, settings);
  if (remembered !== null) return remembered;
  let alg: string | undefined;
  let kid: string | undefined;
  try {
    ({ alg, kid } = decodeProtectedHeader(token));
  } catch (cause) {
    throw invalid("The token is not a well-formed JWT.", cause);
  }
  let payload: JWTPayload;
  const options = {
    clockTolerance: CLOCK_TOLERANCE_S,
    requiredClaims: ["exp", "sub"],
    ...(settings.JWT_ISSUER ? { issuer: settings.JWT_ISSUER } : {}),
    ...(settings.JWT_AUDIENCE ? { audience: settings.JWT_AUDIENCE } : {}),
  };
  const ownToken = own !== undefined && typeof kid === "string" && kid.startsWith(OWN_KID_PREFIX);
  try {
    if (ownToken && own !== undefined) {
      ({ payload } = await jwtVerify(token, await own.keys(kid as string), {
        clockTolerance: CLOCK_TOLERANCE_S,
        requiredClaims: ["exp", "sub", "sid"],
        issuer: own.issuer,
        algorithms: [OWN_ALG],
      }));
    } else if (alg === "HS256" && settings.JWT_SECRET) {
      ({ payload } = await jwtVerify(token, await secretKey(settings.JWT_SECRET), { ...options, algorithms: ["HS256"] }));
    } else if (alg !== undefined && ASYMMETRIC_ALGS.includes(alg) && settings.JWT_JWKS) {
      ({ payload } = await jwtVerify(token, keySet(settings.JWT_JWKS), { ...options, algorithms: ASYMMETRIC_ALGS }));
    } else {
      throw invalid(`Tokens signed with ${JSON.stringify(alg ?? "no algorithm")} are not accepted here.`);
    }
  } catch (cause) {
    if (cause instanceof HttpError) throw cause;
    if (cause instanceof errors.JWTExpired)
      throw new HttpError(401, "TOKEN_EXPIRED", "The token has expired; sign in again or refresh it.", { cause });
    if (cause instanceof errors.JWKSNoMatchingKey)
      throw invalid(
        ownToken
          ? "No key of this server matches the token's kid (it may have been retired)."
          : "No key in JWT_JWKS matches the token's kid and algorithm.",
        cause,
      );
    if (cause instanceof errors.JWTClaimValidationFailed)
      throw invalid(`The token's "${cause.claim}" claim is not acceptable (${cause.reason}).`, cause);
    throw invalid("The token's signature or format is not valid.", cause);
  }
  if (typeof payload.sub !== "string" || payload.sub.length === 0) throw invalid('The token needs a non-empty string "sub" claim.');
  const caller = {
    kind: "user" as const,
    sub: payload.sub,
    claims: payload as Record<string, unknown>,
    expiresAt: (payload.exp ?? 0) * 1000,
    ...(ownToken && typeof payload.sid === "string" ? { sessionId: payload.sid } : {}),
  };
  if (verified.size >= VERIFIED_CACHE_SIZE) verified.delete(verified.keys().next().value as string);
  verified.set(token, { caller, notBefore: (payload.nbf ?? 0) * 1000, fingerprint: fingerprint(settings) });
  return caller;
}

const encoder = new TextEncoder();
const serviceKeyDigests = new Map<string, Promise<ArrayBuffer>>();

/** Compares a presented key with the service key in constant time (digests hide the length too). */
export async function isServiceKey(presented: string, settings: AuthSettings): Promise<boolean> {
  if (!settings.SERVICE_KEY) return false;
  let expected = serviceKeyDigests.get(settings.SERVICE_KEY);
  if (!expected) {
    expected = crypto.subtle.digest("SHA-256", encoder.encode(settings.SERVICE_KEY));
    serviceKeyDigests.set(settings.SERVICE_KEY, expected);
  }
  const [a, b] = await Promise.all([crypto.subtle.digest("SHA-256", encoder.encode(presented)), expected]);
  return crypto.subtle.timingSafeEqual(a, b);
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * Resolves the caller from a bearer value (a JWT or the service key). Credentials that are present
 * but bad are 401, never downgraded to anonymous. A JWT-shaped value skips the service-key digest
 * unless the service key itself is JWT-shaped.
 */
export function authenticateBearer(bearer: string, settings: AuthSettings, own?: OwnTokens): Caller | Promise<Caller> {
  // A token verified before is a JWT and not the service key (that check came first then).
  return rememberedCaller(bearer, settings) ?? checkBearer(bearer, settings, own);
}

async function checkBearer(bearer: string, settings: AuthSettings, own?: OwnTokens): Promise<Caller> {
  const looksLikeJwt = JWT_SHAPE.test(bearer);
  if ((!looksLikeJwt || JWT_SHAPE.test(settings.SERVICE_KEY ?? "")) && (await isServiceKey(bearer, settings))) return { kind: "service" };
  if (!looksLikeJwt) throw invalid("The bearer credential is neither a JWT nor the service key.");
  return verifyToken(bearer, settings, own);
}
