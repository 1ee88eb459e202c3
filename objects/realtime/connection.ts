/**
 * One socket as the RealtimeDO sees it. The part that must survive hibernation (id, caller, auth
 * deadline) is the socket's attachment; subscriptions and presence live in SQLite (see store.ts);
 * the message queue and rate bucket are in memory only (a hibernating socket was idle anyway).
 */
import type { Caller } from "../../shared/caller";
import type { Subscription } from "./subscriptions";

/** What `serializeAttachment` stores per socket (well under the 16 KiB limit: tokens are at most 8 KiB). */
export interface Attachment {
  v: 1;
  /** The connection id other sockets see in `from`, presence keys and tags. */
  id: string;
  /** Null while waiting for the first `auth` message. */
  caller: Caller | null;
  /** Epoch ms when a socket without credentials is closed with 4408 (0 once authenticated). */
  authDeadline: number;
}

export interface Connection {
  readonly ws: WebSocket;
  readonly id: string;
  caller: Caller | null;
  authDeadline: number;
  readonly subscriptions: Map<string, Subscription>;
  readonly channels: Set<string>;
  /** Messages of one socket are handled one after another (auth verification is async). */
  queue: Promise<void>;
  /** Token bucket for the per-connection message rate. */
  tokens: number;
  refilledAt: number;
  closed: boolean;
}

/** Builds the in-memory connection for a socket from its attachment. */
export function connectionFrom(ws: WebSocket, attachment: Attachment, burst: number): Connection {
  return {
    ws,
    id: attachment.id,
    caller: attachment.caller,
    authDeadline: attachment.authDeadline,
    subscriptions: new Map(),
    channels: new Set(),
    queue: Promise.resolve(),
    tokens: burst,
    refilledAt: Date.now(),
    closed: false,
  };
}

/** Writes the hibernation-surviving part of a connection back to its socket. */
export function saveAttachment(conn: Connection): void {
  const attachment: Attachment = { v: 1, id: conn.id, caller: conn.caller, authDeadline: conn.authDeadline };
  conn.ws.serializeAttachment(attachment);
}

/** Reads a socket's attachment; null for sockets this code did not tag (never expected). */
export function readAttachment(ws: WebSocket): Attachment | null {
  const value = ws.deserializeAttachment() as Attachment | null;
  return value && value.v === 1 && typeof value.id === "string" ? value : null;
}

/** Takes one token from the connection's bucket; false means over the rate. */
export function takeToken(conn: Connection, perSecond: number, burst: number, now = Date.now()): boolean {
  conn.tokens = Math.min(burst, conn.tokens + ((now - conn.refilledAt) / 1000) * perSecond);
  conn.refilledAt = now;
  if (conn.tokens < 1) return false;
  conn.tokens -= 1;
  return true;
}

/** When this connection next needs the alarm: its auth deadline, or its token's expiry. */
export function connectionDeadline(conn: Connection): number | null {
  if (conn.caller === null) return conn.authDeadline;
  if (conn.caller.kind === "user") return conn.caller.expiresAt;
  return null;
}

/** A short random connection id (URL- and tag-safe). */
export function newConnectionId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(9));
  return btoa(String.fromCharCode(...bytes))
    .replaceAll("+", "-")
    .replaceAll("/", "_");
}

/** Sends a frame, ignoring sockets that closed underneath us. */
export function send(conn: Connection, frame: string): void {
  if (conn.closed) return;
  try {
    conn.ws.send(frame);
  } catch {
    conn.closed = true;
  }
}

/** Closes a socket with a code the protocol allows (never the reserved 1005/1006/1015). */
export function closeSocket(ws: WebSocket, code: number, reason: string): void {
  const safe = code === 1005 || code === 1006 || code === 1015 ? 1000 : code;
  try {
    ws.close(safe, reason.slice(0, 120));
  } catch {
    // Already closed or closing.
  }
}
