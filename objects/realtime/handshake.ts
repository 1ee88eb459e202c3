/**
 * The upgrade hand-off between the Worker and the RealtimeDO. The Worker verifies the caller and
 * the block, strips any client-sent copies of these headers, and forwards a fresh request carrying
 * them to the actor named by the block; the actor trusts them because only the Worker can reach it.
 */
import type { Caller } from "../../shared/caller";
import { PROTOCOL } from "../../shared/protocol";

export const INTERNAL_HEADERS = {
  /** JSON of the verified `Caller`, absent when the socket must authenticate with a first `auth` message. */
  caller: "X-Actorbase-Caller",
  /** "1" when the client offered the `actorbase.v1` subprotocol, which the answer must then select. */
  subprotocol: "X-Actorbase-Subprotocol",
} as const;

/** Reads the caller the Worker verified, or null (pending first-message auth). */
export function callerFromHeaders(headers: Headers): Caller | null {
  const raw = headers.get(INTERNAL_HEADERS.caller);
  return raw ? (JSON.parse(raw) as Caller) : null;
}

/** Declines every extension the client offered (see upgradeResponse). */
const NO_EXTENSIONS = "none";

/**
 * The 101 answer for an accepted socket, selecting our subprotocol when the client offered it.
 * It declines permessage-deflate, which the runtime would otherwise accept whenever a client
 * offers it (browsers always do): change frames are small, and deflating each one per socket cost
 * more CPU than sending it (docs/realtime.md, "Compression"). A `Sec-WebSocket-Extensions` value
 * naming no extension the runtime knows is how a Worker declines the offer.
 */
export function upgradeResponse(client: WebSocket, selectProtocol: boolean): Response {
  const headers: Record<string, string> = { "Sec-WebSocket-Extensions": NO_EXTENSIONS };
  if (selectProtocol) headers["Sec-WebSocket-Protocol"] = PROTOCOL;
  return new Response(null, { status: 101, webSocket: client, headers });
}

/**
 * Accepts a socket only to close it at once with a protocol close code (4401, 4403, 1013): a
 * browser cannot read an HTTP error answer to an upgrade, but it can read a close code.
 */
export function rejectUpgrade(code: number, reason: string, selectProtocol: boolean): Response {
  const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
  server.accept();
  server.close(code, reason.slice(0, 120));
  return upgradeResponse(client, selectProtocol);
}
