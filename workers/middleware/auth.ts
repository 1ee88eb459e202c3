import { ownTokens } from "../../objects/signing-keys/contract";
import { authenticateBearer, isServiceKey } from "../../shared/auth";
import { HttpError } from "../../shared/errors";
import type { AppRequest } from "../context";

/** The client address for anonymous callers (Cloudflare sets CF-Connecting-IP; local dev may not). */
export function clientIp(request: Request): string {
  return request.headers.get("CF-Connecting-IP") ?? request.headers.get("X-Real-IP") ?? "127.0.0.1";
}

/**
 * Establishes `request.state.caller`: the service key (`X-Service-Key` or bearer), a verified JWT,
 * or anonymous when no credentials are sent. Present-but-bad credentials are 401, never anonymous.
 * `ANON_KEY` (supabase-js's key, as a bearer or `apikey`) means anonymous; a bearer beats `apikey`.
 */
export function authenticate(request: AppRequest, env: Env): void | Promise<void> {
  const serviceKey = request.headers.get("X-Service-Key");
  if (serviceKey !== null) return checkServiceKey(request, serviceKey, env);
  const authorization = request.headers.get("Authorization");
  const apiKey = request.headers.get("apikey");
  if (authorization === null && apiKey === null) {
    request.state.caller = { kind: "anonymous", ip: clientIp(request) };
    return;
  }
  const match = authorization === null ? null : /^Bearer[ ]+(\S+)\s*$/i.exec(authorization);
  const credential = authorization === null ? apiKey?.trim() : match?.[1];
  if (!credential) throw new HttpError(401, "INVALID_CREDENTIALS", 'Use "Authorization: Bearer <token>".');
  if (env.ANON_KEY && credential === env.ANON_KEY) {
    request.state.caller = { kind: "anonymous", ip: clientIp(request) };
    return;
  }
  // Synchronous for a token verified before (the common case); a promise while a signature is checked.
  const caller = authenticateBearer(credential, env, ownTokens(env));
  if (caller instanceof Promise)
    return caller.then((verified) => {
      request.state.caller = verified;
    });
  request.state.caller = caller;
}

async function checkServiceKey(request: AppRequest, presented: string, env: Env): Promise<void> {
  if (!(await isServiceKey(presented, env)))
    throw new HttpError(401, "INVALID_SERVICE_KEY", "The X-Service-Key header does not match the service key.");
  request.state.caller = { kind: "service" };
}
