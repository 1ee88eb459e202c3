/**
 * The realtime WebSocket protocol (docs/realtime.md): every message either side may send, as JSON
 * text frames. Shared by the RealtimeDO and the client so both compile against one definition.
 */
import { type ErrorCode, isErrorCode } from "./error-codes";

/** The subprotocol the server selects; a client offers it first, then `bearer.<jwt>` when it has a token. */
export const PROTOCOL = "actorbase.v1";
/** Prefix of the subprotocol entry that carries a bearer token. */
export const BEARER_PREFIX = "bearer.";

/** Close codes the server uses (the 4xxx ones mirror HTTP statuses); each name but NORMAL is an `ErrorCode`. */
export const CloseCode = {
  /** Normal closure (client or server said goodbye). */
  NORMAL: 1000,
  /** A message was larger than the per-message limit. */
  MESSAGE_TOO_BIG: 1009,
  /** The block already holds the most sockets it accepts; retry later. */
  TRY_AGAIN_LATER: 1013,
  /** The token was invalid, or expired without being refreshed by an `auth` message. */
  AUTH_FAILED: 4401,
  /** The caller may not read this block. */
  FORBIDDEN: 4403,
  /** No `auth` message arrived in time after connecting without credentials. */
  AUTH_TIMEOUT: 4408,
  /** The connection sent messages faster than its rate allows. */
  RATE_LIMITED: 4429,
} as const satisfies Partial<Record<ErrorCode | "NORMAL", number>>;

/** The error code a server close code stands for, or null (a normal or unknown close). */
export function closeCodeError(code: number): ErrorCode | null {
  for (const [name, value] of Object.entries(CloseCode)) {
    if (value === code && isErrorCode(name)) return name;
  }
  return null;
}

export type Row = Record<string, unknown>;

// ---- client to server ----

// Written once as valibot schemas in shared/protocol-schema.ts, which the RealtimeDO checks frames with.
export type {
  AuthMessage,
  BroadcastMessage,
  ClientMessage,
  PingMessage,
  PresenceLeaveMessage,
  PresenceMessage,
  SubscribeMessage,
  UnsubscribeMessage,
} from "./protocol-schema";

// ---- server to client ----

/** Sent once the socket is authenticated (and again after every accepted `auth` refresh). */
export interface ReadyEvent {
  type: "ready";
  connectionId: string;
  /** The latest seq the RealtimeDO has delivered for this block (it may lag while nobody subscribes; resume from your own). */
  seq: number;
}

/** The subscription is live: every change after `seq` follows. */
export interface SubscribedEvent {
  type: "subscribed";
  id: string;
  seq: number;
  /** The matching rows as of `seq` (when asked for). */
  snapshot?: Row[];
  /** True when the snapshot was cut at the page limit; list the rest over REST. */
  more?: boolean;
}

export interface ChangeEvent {
  type: "change";
  sub: string;
  seq: number;
  op: "insert" | "update" | "delete";
  table: string;
  row: Row;
  old?: Row;
}

/** One change inside a `changes` message: a `change` event without `type` and `sub`. */
export type ChangeEntry = Omit<ChangeEvent, "type" | "sub">;

/** Several changes of one subscription, in seq order (subscriptions made with `batch: true`). */
export interface ChangesEvent {
  type: "changes";
  sub: string;
  changes: ChangeEntry[];
}

/** The change log no longer reaches back to `since`: refetch, the subscription continues live. */
export interface ResetEvent {
  type: "reset";
  sub: string;
  reason: "history_truncated";
}

export interface BroadcastEvent {
  type: "broadcast";
  channel: string;
  event: string;
  payload: unknown;
  from: string;
}

export interface PresenceDiffEvent {
  type: "presence";
  channel: string;
  joins: Record<string, unknown>;
  leaves: string[];
}

export interface PresenceStateEvent {
  type: "presence.state";
  channel: string;
  members: Record<string, unknown>;
}

export interface PongEvent {
  type: "pong";
}

export interface ErrorEvent {
  type: "error";
  /** Stable UPPER_SNAKE code, as in HTTP problems. */
  code: ErrorCode;
  message: string;
  /** The subscription id the error is about, if any. */
  ref?: string;
}

export type ServerMessage =
  | ReadyEvent
  | SubscribedEvent
  | ChangeEvent
  | ChangesEvent
  | ResetEvent
  | BroadcastEvent
  | PresenceDiffEvent
  | PresenceStateEvent
  | PongEvent
  | ErrorEvent;

/** The exact ping/pong frames answered by the runtime's auto-response (no actor wake-up). */
export const PING_FRAME = '{"type":"ping"}';
export const PONG_FRAME = '{"type":"pong"}';
