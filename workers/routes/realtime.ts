import { INTERNAL_HEADERS, realtimeFor, rejectUpgrade } from "../../objects/realtime/contract";
import { ownTokens } from "../../objects/signing-keys/contract";
import { authenticateBearer } from "../../shared/auth";
import type { Caller } from "../../shared/caller";
import { HttpError } from "../../shared/errors";
import { BEARER_PREFIX, CloseCode, PROTOCOL } from "../../shared/protocol";
import { checkRule } from "../../shared/rules";
import { config } from "../config";
import type { AppRequest } from "../context";
import { allowedOrigins } from "../middleware/cors";

/**
 * `GET /api/realtime/:block`: checks the Origin, establishes the caller (the `bearer.<jwt>`
 * subprotocol, else the headers `authenticate` already read), checks the block's read rule and
 * hands the upgrade to the block's RealtimeDO. Credential and rule failures are answered as a
 * socket closed with 4401/4403, which a browser can read (an HTTP error to an upgrade it cannot).
 */
export async function connectRealtime(request: AppRequest, env: Env): Promise<Response> {
  const { block } = request.state;
  if (!block) throw new Error("connectRealtime needs withBlock first");
  if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
    throw new HttpError(426, "UPGRADE_REQUIRED", "This endpoint speaks WebSocket; connect with a WebSocket client.", {
      headers: { Upgrade: "websocket" },
    });
  }
  checkOrigin(request.headers.get("Origin"), new URL(request.url).origin, env);

  const offered = (request.headers.get("Sec-WebSocket-Protocol") ?? "")
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean);
  const select = offered.includes(PROTOCOL);
  const bearer = offered.find((p) => p.startsWith(BEARER_PREFIX));
  let caller: Caller | null = request.state.caller ?? null;
  if (bearer) {
    try {
      caller = await authenticateBearer(bearer.slice(BEARER_PREFIX.length), env, ownTokens(env));
    } catch (err) {
      return rejectUpgrade(CloseCode.AUTH_FAILED, err instanceof HttpError ? err.detail : "The token could not be verified.", select);
    }
  }
  if (caller && !checkRule(config, caller, block, null, "read").allowed) {
    // Anonymous callers may still authenticate with a first `auth` message; others are refused.
    if (caller.kind !== "anonymous")
      return rejectUpgrade(CloseCode.FORBIDDEN, `The rules of "${block.namespace}" do not allow you to read "${block.name}".`, select);
    caller = null;
  }

  const headers = new Headers({ Upgrade: "websocket" });
  if (select) headers.set(INTERNAL_HEADERS.subprotocol, "1");
  if (caller) headers.set(INTERNAL_HEADERS.caller, JSON.stringify(caller));
  // A fresh Request: itty's proxied request object cannot cross to a stub.
  return realtimeFor(env, block.name).fetch(new Request(request.url, { headers }));
}

/**
 * Refuses browsers on origins `CORS_ORIGINS` does not list (when it is set); non-browser clients
 * send none, and a page this server served itself (the console) is always its own origin.
 */
function checkOrigin(origin: string | null, own: string, env: Env): void {
  const allowed = allowedOrigins(env);
  if (origin === null || origin === own || allowed.length === 0 || allowed.includes("*") || allowed.includes(origin)) return;
  throw new HttpError(403, "ORIGIN_NOT_ALLOWED", `Origin ${origin} is not in CORS_ORIGINS; add it there to open realtime sockets from it.`);
}
