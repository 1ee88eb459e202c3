/**
 * One realtime socket per block, over partysocket (reconnects with backoff). After every
 * reconnect it authenticates again (bearer subprotocol, fresh from `getToken`), resubscribes each
 * subscription with `since` = the last seq it delivered, and rejoins presence; changes are
 * de-duplicated by seq, so the application sees every change exactly once, in order.
 */
import ReconnectingWebSocket from "partysocket/ws";
import {
  BEARER_PREFIX,
  type ChangeEntry,
  type ClientMessage,
  CloseCode,
  closeCodeError,
  PROTOCOL,
  type Row,
  type ServerMessage,
  type SubscribedEvent,
} from "../shared/protocol";
import { Channel } from "./channel";
import { ActorbaseError } from "./errors";

/** A change as the application sees it. */
export interface TableChange<T = Row> {
  op: "insert" | "update" | "delete";
  seq: number;
  table: string;
  row: T;
  old?: T;
}

export interface SubscribeOptions<T = Row> {
  /** Ask for the matching rows first (`onSnapshot`), consistent with the changes that follow. */
  snapshot?: boolean;
  onSnapshot?: (rows: T[], seq: number) => void;
  /** The change log no longer reached back to the last delivered change: refetch your view. */
  onReset?: () => void;
  /** The server refused the subscription (bad filter, forbidden table, ...). */
  onError?: (error: ActorbaseError) => void;
}

export interface RealtimeOptions {
  url: string;
  token: () => Promise<string | null>;
  /** True when tokens can be refreshed (`getToken`), so expiry triggers a refresh, not a stop. */
  refreshable: boolean;
  WebSocket?: unknown;
  minReconnectDelayMs?: number;
  maxReconnectDelayMs?: number;
}

/** What the connection needs from a subscription, whatever its row type. */
interface SubscriptionHandle {
  readonly id: string;
  message(): ClientMessage;
  handleSubscribed(event: SubscribedEvent): void;
  handleChange(event: ChangeEntry): void;
  handleReset(): void;
  handleError(error: ActorbaseError): void;
}

/** A live subscription handle. */
export class Subscription<T = Row> implements SubscriptionHandle {
  readonly id: string;
  readonly table: string;
  readonly filter: string;
  /** The last seq delivered to the application (null before the first `subscribed`). */
  lastSeq: number | null = null;
  /** Resolves once the server confirmed the subscription the first time. */
  readonly ready: Promise<{ seq: number; snapshot?: T[] }>;
  readonly #onChange: (change: TableChange<T>) => void;
  readonly #options: SubscribeOptions<T>;
  readonly #connection: RealtimeConnection;
  #settle: { resolve: (value: { seq: number; snapshot?: T[] }) => void; reject: (err: Error) => void } | null = null;
  #ended = false;

  constructor(
    connection: RealtimeConnection,
    id: string,
    table: string,
    filter: string,
    onChange: (change: TableChange<T>) => void,
    options: SubscribeOptions<T>,
  ) {
    this.#connection = connection;
    this.id = id;
    this.table = table;
    this.filter = filter;
    this.#onChange = onChange;
    this.#options = options;
    this.ready = new Promise((resolve, reject) => (this.#settle = { resolve, reject }));
    this.ready.catch(() => {});
  }

  /** Stops the subscription; no change is delivered after this returns. */
  unsubscribe(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#connection.forget(this);
  }

  /** The subscribe message for (re)sending: `since` once we have a position, else snapshot if asked. */
  message(): ClientMessage {
    // batch: under load several changes arrive in one frame; the application still gets them one at a time.
    const base = { type: "subscribe" as const, id: this.id, table: this.table, filter: this.filter, batch: true };
    if (this.lastSeq !== null) return { ...base, since: this.lastSeq };
    return this.#options.snapshot ? { ...base, snapshot: true } : base;
  }

  /** @internal */
  handleSubscribed(event: SubscribedEvent): void {
    if (this.#ended) return;
    if (event.snapshot && this.lastSeq === null) this.#options.onSnapshot?.(event.snapshot as T[], event.seq);
    if (this.lastSeq === null || event.seq > this.lastSeq) this.lastSeq = event.seq;
    this.#settle?.resolve({ seq: event.seq, ...(event.snapshot ? { snapshot: event.snapshot as T[] } : {}) });
    this.#settle = null;
  }

  /** @internal Delivers a change once: anything at or below the last delivered seq is a duplicate. */
  handleChange(event: ChangeEntry): void {
    if (this.#ended || this.lastSeq === null || event.seq <= this.lastSeq) return;
    this.lastSeq = event.seq;
    const change: TableChange<T> = { op: event.op, seq: event.seq, table: event.table, row: event.row as T };
    if (event.old) change.old = event.old as T;
    this.#onChange(change);
  }

  /** @internal */
  handleReset(): void {
    if (!this.#ended) this.#options.onReset?.();
  }

  /** @internal */
  handleError(error: ActorbaseError): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#connection.forget(this, false);
    this.#settle?.reject(error);
    this.#settle = null;
    this.#options.onError?.(error);
  }
}

type Listener<T> = (value: T) => void;

/** The block's socket: subscriptions, channels (broadcast, presence), ping, status. */
export class RealtimeConnection {
  readonly #options: RealtimeOptions;
  readonly #socket: ReconnectingWebSocket;
  readonly #subscriptions = new Map<string, SubscriptionHandle>();
  readonly #channels = new Map<string, Channel>();
  readonly #errorListeners = new Set<Listener<ActorbaseError>>();
  readonly #pongs: Array<() => void> = [];
  #nextId = 1;
  #connectionId: string | null = null;
  #authenticated = false;
  #readyWaiters: Array<() => void> = [];
  #refreshTimer: ReturnType<typeof setTimeout> | null = null;
  #closed = false;

  constructor(options: RealtimeOptions) {
    this.#options = options;
    this.#socket = new ReconnectingWebSocket(
      options.url,
      async () => {
        const token = await options.token();
        this.#scheduleRefresh(token);
        return token ? [PROTOCOL, `${BEARER_PREFIX}${token}`] : [PROTOCOL];
      },
      {
        ...(options.WebSocket ? { WebSocket: options.WebSocket } : {}),
        minReconnectionDelay: options.minReconnectDelayMs ?? 250,
        maxReconnectionDelay: options.maxReconnectDelayMs ?? 10_000,
        // Messages are never queued while disconnected: subscriptions and presence are re-sent on `ready`.
        maxEnqueuedMessages: 0,
        shouldReconnectOnClose: (event) => this.#shouldReconnect(event.code),
      },
    );
    this.#socket.addEventListener("message", (event) => this.#onMessage(event.data));
    this.#socket.addEventListener("close", (event) => this.#onClose(event.code, event.reason));
  }

  /** The server's id for this socket (null while disconnected): `from` of broadcasts, presence keys. */
  get connectionId(): string | null {
    return this.#connectionId;
  }

  /** Resolves when the socket is connected and authenticated. */
  ready(): Promise<void> {
    if (this.#authenticated) return Promise.resolve();
    return new Promise((resolve) => this.#readyWaiters.push(resolve));
  }

  /** Subscribes to a table's changes; `filter` uses the list query grammar (`done=eq.false`). */
  subscribe<T = Row>(
    table: string,
    filter: string,
    onChange: (change: TableChange<T>) => void,
    options: SubscribeOptions<T> = {},
  ): Subscription<T> {
    const subscription = new Subscription<T>(this, `s${this.#nextId++}`, table, filter, onChange, options);
    this.#subscriptions.set(subscription.id, subscription);
    if (this.#authenticated) this.#send(subscription.message());
    return subscription;
  }

  /** A broadcast and presence channel of this block. */
  channel(name: string): Channel {
    let channel = this.#channels.get(name);
    if (!channel) {
      channel = new Channel(
        name,
        (message) => this.#send(message),
        () => this.#connectionId,
      );
      this.#channels.set(name, channel);
    }
    return channel;
  }

  /** Round trip to the server (answered by the runtime without waking the actor), in ms. */
  async ping(): Promise<number> {
    await this.ready();
    const started = Date.now();
    await new Promise<void>((resolve) => {
      this.#pongs.push(resolve);
      this.#send({ type: "ping" });
    });
    return Date.now() - started;
  }

  /** Errors not tied to a subscription (rate limits, auth failures, protocol errors). */
  onError(listener: Listener<ActorbaseError>): () => void {
    this.#errorListeners.add(listener);
    return () => this.#errorListeners.delete(listener);
  }

  /** Drops the current socket and connects again (resuming every subscription). */
  reconnect(): void {
    this.#socket.reconnect();
  }

  /** Closes the socket for good. */
  close(): void {
    this.#closed = true;
    if (this.#refreshTimer) clearTimeout(this.#refreshTimer);
    this.#socket.close(CloseCode.NORMAL, "client closed");
  }

  /** @internal Removes a subscription (telling the server unless it already dropped it). */
  forget(subscription: SubscriptionHandle, tellServer = true): void {
    if (this.#subscriptions.get(subscription.id) !== subscription) return;
    this.#subscriptions.delete(subscription.id);
    if (tellServer && this.#authenticated) this.#send({ type: "unsubscribe", id: subscription.id });
  }

  #send(message: ClientMessage): boolean {
    if (this.#socket.readyState !== this.#socket.OPEN) return false;
    return this.#socket.send(JSON.stringify(message));
  }

  #onMessage(data: unknown): void {
    if (typeof data !== "string") return;
    const message = JSON.parse(data) as ServerMessage;
    switch (message.type) {
      case "ready":
        return this.#onReady(message.connectionId);
      case "subscribed":
        return this.#subscriptions.get(message.id)?.handleSubscribed(message);
      case "change":
        return this.#subscriptions.get(message.sub)?.handleChange(message);
      case "changes": {
        const subscription = this.#subscriptions.get(message.sub);
        if (subscription) deliverEntries(subscription, message.changes);
        return;
      }
      case "reset":
        return this.#subscriptions.get(message.sub)?.handleReset();
      case "broadcast":
      case "presence":
      case "presence.state":
        return this.#channels.get(message.channel)?.handle(message);
      case "pong":
        return this.#pongs.shift()?.();
      case "error": {
        const error = new ActorbaseError(0, message.code, message.message);
        const subscription = message.ref === undefined ? undefined : this.#subscriptions.get(message.ref);
        if (subscription) return subscription.handleError(error);
        for (const listener of this.#errorListeners) listener(error);
        return;
      }
    }
  }

  /** First `ready` on a socket: resubscribe from each subscription's last seq and rejoin presence. */
  #onReady(connectionId: string): void {
    const fresh = !this.#authenticated;
    this.#connectionId = connectionId;
    this.#authenticated = true;
    if (!fresh) return; // a token refresh, same socket
    for (const subscription of this.#subscriptions.values()) this.#send(subscription.message());
    for (const channel of this.#channels.values()) channel.rejoin();
    for (const wake of this.#readyWaiters.splice(0)) wake();
  }

  #onClose(code: number, reason: string): void {
    this.#authenticated = false;
    this.#connectionId = null;
    for (const channel of this.#channels.values()) channel.disconnected();
    if (code >= 4000 || code === CloseCode.MESSAGE_TOO_BIG) {
      const error = new ActorbaseError(code, closeCodeError(code) ?? "CLOSED", reason || `The socket closed with ${code}.`);
      for (const listener of this.#errorListeners) listener(error);
    }
  }

  #shouldReconnect(code: number): boolean {
    if (this.#closed) return false;
    if (code === CloseCode.FORBIDDEN) return false;
    if (code === CloseCode.AUTH_FAILED && !this.#options.refreshable) return false;
    return true;
  }

  /** Sends a fresh token shortly before the current one expires (when `getToken` can give one). */
  #scheduleRefresh(token: string | null): void {
    if (this.#refreshTimer) clearTimeout(this.#refreshTimer);
    this.#refreshTimer = null;
    if (!token || !this.#options.refreshable) return;
    const expiresAt = tokenExpiry(token);
    if (expiresAt === null) return;
    const delay = Math.max(1_000, expiresAt - Date.now() - 30_000);
    this.#refreshTimer = setTimeout(async () => {
      const next = await this.#options.token();
      if (next && this.#send({ type: "auth", token: next })) this.#scheduleRefresh(next);
    }, delay);
  }
}

/** A JWT's `exp` in ms, read without verifying (the server verifies). */
function tokenExpiry(token: string): number | null {
  const payload = token.split(".")[1];
  if (!payload) return null;
  try {
    const json = JSON.parse(atob(payload.replaceAll("-", "+").replaceAll("_", "/"))) as { exp?: unknown };
    return typeof json.exp === "number" ? json.exp * 1000 : null;
  } catch {
    return null;
  }
}

/**
 * Hands each change of a `changes` frame to its subscription. A throwing `onChange` does not cost
 * the rest of the frame (its seqs would otherwise be passed over for good by the next frame): every
 * entry is delivered, then the first error is thrown, as it would have been from its own frame.
 */
export function deliverEntries(subscription: Pick<SubscriptionHandle, "handleChange">, entries: ChangeEntry[]): void {
  let failure: { error: unknown } | null = null;
  for (const entry of entries) {
    try {
      subscription.handleChange(entry);
    } catch (error) {
      failure ??= { error };
    }
  }
  if (failure) throw failure.error;
}
