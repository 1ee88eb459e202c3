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
 */
export async function authenticate(request: AppRequest, env: Env): Promise<void> {
  const serviceKey = request.headers.get("X-Service-Key");
  if (serviceKey !== null) {
    if (!(await isServiceKey(serviceKey, env)))
      throw new HttpError(401, "INVALID_SERVICE_KEY", "The X-Service-Key header does not match the service key.");
    request.state.caller = { kind: "service" };
    return;
  }
  const authorization = request.headers.get("Authorization");
  if (authorization === null) {
    request.state.caller = { kind: "anonymous", ip: clientIp(request) };
    return;
  }
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization);
  if (!match?.[1]) throw new HttpError(401, "INVALID_CREDENTIALS", 'Use "Authorization: Bearer <token>".');
  request.state.caller = await authenticateBearer(match[1], env, ownTokens(env));
}
