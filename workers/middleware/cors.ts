import type { AppRequest } from "../context";

// Hand-written rather than itty's cors(): itty's corsify does not set Access-Control-Expose-Headers
// on actual responses (only on preflights) and adds no `Vary: Origin`, and both matter here.
// The PostgREST clients (docs/postgrest.md) send apikey, the profiles, Prefer and Range, and read Content-Range.
const ALLOW_METHODS = "GET, HEAD, POST, PATCH, DELETE, OPTIONS";
const ALLOW_HEADERS =
  "Authorization, Content-Type, If-Match, If-None-Match, Idempotency-Key, X-Request-Id, X-Service-Key, apikey, Accept-Profile, Content-Profile, Prefer, Range, Range-Unit, X-Client-Info, X-Retry-Count";
const EXPOSE_HEADERS = "X-Request-Id, X-Seq, ETag, Server-Timing, RateLimit, RateLimit-Policy, Retry-After, Content-Range";

/** Parsed `CORS_ORIGINS` by environment object (the runtime passes the same one to every request of an isolate). */
const originsByEnv = new WeakMap<Env, string[]>();

/** Parses `CORS_ORIGINS` (comma list, `*` for any origin), once per environment. */
export function allowedOrigins(env: Env): string[] {
  let origins = originsByEnv.get(env);
  if (origins === undefined) {
    origins = (env.CORS_ORIGINS ?? "")
      .split(",")
      .map((o) => o.trim())
      .filter(Boolean);
    originsByEnv.set(env, origins);
  }
  return origins;
}

/** The origin to echo for this request, or null when it is not allowed. */
export function allowOrigin(origin: string | null, env: Env): string | null {
  if (!origin) return null;
  const allowed = allowedOrigins(env);
  if (allowed.includes("*")) return "*";
  return allowed.includes(origin) ? origin : null;
}

/** Answers preflight requests (`OPTIONS` with `Access-Control-Request-Method`) with 204. */
export function preflight(request: AppRequest, env: Env): Response | undefined {
  if (request.method !== "OPTIONS") return undefined;
  const origin = allowOrigin(request.headers.get("Origin"), env);
  const headers = new Headers({ Vary: "Origin" });
  if (origin) {
    headers.set("Access-Control-Allow-Origin", origin);
    headers.set("Access-Control-Allow-Methods", ALLOW_METHODS);
    headers.set("Access-Control-Allow-Headers", ALLOW_HEADERS);
    headers.set("Access-Control-Max-Age", "86400");
    if (origin !== "*") headers.set("Access-Control-Allow-Credentials", "true");
  }
  return new Response(null, { status: 204, headers });
}

/**
 * Adds CORS headers to an actual response when the request's origin is allowed. With no
 * `CORS_ORIGINS` configured the answer does not depend on `Origin`, so it is left as it is.
 */
export function corsify(response: Response, request: AppRequest, env: Env): Response {
  if (response.status === 101 || allowedOrigins(env).length === 0) return response;
  const origin = allowOrigin(request.headers.get("Origin"), env);
  response.headers.append("Vary", "Origin");
  if (!origin) return response;
  response.headers.set("Access-Control-Allow-Origin", origin);
  response.headers.set("Access-Control-Expose-Headers", EXPOSE_HEADERS);
  if (origin !== "*") response.headers.set("Access-Control-Allow-Credentials", "true");
  return response;
}
