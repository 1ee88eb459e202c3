import { DurableObject } from "cloudflare:workers";
import config from "../../actorbase.config";
import { authenticateBearer } from "../../shared/auth";
import { ownTokens } from "../signing-keys/contract";
import { type Block, blockOfActor } from "../../shared/block";
import type { Change } from "../../shared/change";
import { HttpError } from "../../shared/errors";
import { CloseCode, PING_FRAME, PONG_FRAME, type ClientMessage, type SubscribeMessage } from "../../shared/protocol";
import { checkRule } from "../../shared/rules";
import type { Caller } from "../../shared/caller";
import {
  type Connection,
  closeSocket,
  connectionDeadline,
  connectionFrom,
  newConnectionId,
  readAttachment,
  saveAttachment,
  send,
  takeToken,
} from "./connection";
import type { RealtimeRpc } from "./contract";
import { type ChangeSource, databaseOf } from "./database";
import { ChangeFeed } from "./feed";
import { INTERNAL_HEADERS, callerFromHeaders, rejectUpgrade, upgradeResponse } from "./handshake";
import { DEFAULT_REALTIME_LIMITS, type RealtimeLimits } from "./limits";
import { FrameBudget } from "./frame-budget";
import { parseClientMessage, protocolError, utf8Length } from "./messages";
import { Presence } from "./presence";
import { RealtimeStore } from "./store";
import type { Subscription } from "./subscriptions";
import { type RowPredicate, compileFilter } from "./visibility";

/**
 * One block's WebSocket room: subscriptions to the block's change stream, broadcast and presence,
 * over hibernating sockets. Named like the block's DatabaseDO, which hands it each committed group
 * of changes through `publish`.
 */
export class RealtimeDO extends DurableObject<Env> implements RealtimeRpc {
  /** The abuse limits of this instance (tests lower them through `runInDurableObject`). */
  limits: RealtimeLimits = { ...DEFAULT_REALTIME_LIMITS };
  readonly #store: RealtimeStore;
  readonly #conns = new Map<WebSocket, Connection>();
  readonly #byId = new Map<string, Connection>();
  readonly #presence: Presence;
  readonly #feed: ChangeFeed;
  /** Set by `#ensureInitialized`; null until the first publish, upgrade or message. */
  #block: Block | null = null;
  readonly #frames = new FrameBudget(DEFAULT_REALTIME_LIMITS);
  /** The alarm time last set (undefined: not known since waking). */
  #alarmAt: number | null | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#store = new RealtimeStore(ctx.storage);
    this.#presence = new Presence(this.#store, (id) => this.#byId.get(id));
    this.#feed = new ChangeFeed(
      this.#store,
      () => this.#database(),
      () => this.#ensureInitialized(),
      () => this.limits,
    );
    // Answered by the runtime without waking the actor.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING_FRAME, PONG_FRAME));
    for (const ws of ctx.getWebSockets()) {
      const attachment = readAttachment(ws);
      if (!attachment) {
        closeSocket(ws, 1011, "lost connection state");
        continue;
      }
      const conn = connectionFrom(ws, attachment, this.limits.messageBurst);
      this.#conns.set(ws, conn);
      this.#byId.set(conn.id, conn);
    }
    // Sockets and presence need no name, so they are back before anything (the alarm, a close) uses them.
    this.#presence.restore();
  }

  /**
   * Receives a committed group of changes from the block's DatabaseDO and delivers them in seq
   * order. Answers once the frames it sent are paid for (frame-budget.ts): the DatabaseDO sends one
   * hand-off at a time, so under load the changes committed meanwhile come together in the next
   * one, and a `batch` subscriber gets them in one frame.
   */
  async publish(changes: Change[]): Promise<boolean> {
    try {
      this.#ensureInitialized();
      const before = this.#feed.deliveryCost;
      await this.#feed.publish(changes);
      const wait = this.#frames.spend(this.#feed.deliveryCost - before, this.limits);
      if (wait >= 1) await scheduler.wait(wait);
    } catch (err) {
      console.error(JSON.stringify({ msg: "realtime publish failed", block: this.ctx.id.name, error: String(err) }));
      return true;
    }
    return this.#feed.size > 0;
  }

  /** Accepts a WebSocket upgrade the Worker forwarded (caller and block already verified there). */
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
      return new Response("Expected a WebSocket upgrade.", { status: 426 });
    }
    const block = this.#ensureInitialized();
    const select = request.headers.get(INTERNAL_HEADERS.subprotocol) === "1";
    if (this.#conns.size >= this.limits.socketsPerActor) {
      return rejectUpgrade(CloseCode.TRY_AGAIN_LATER, `Block "${block.name}" has the most sockets it accepts; retry later.`, select);
    }
    const caller = callerFromHeaders(request.headers);
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    const id = newConnectionId();
    this.ctx.acceptWebSocket(server, [id]);
    const conn = connectionFrom(
      server,
      { v: 1, id, caller, authDeadline: caller ? 0 : Date.now() + this.limits.authTimeoutMs },
      this.limits.messageBurst,
    );
    saveAttachment(conn);
    this.#conns.set(server, conn);
    this.#byId.set(id, conn);
    if (caller) this.#sendReady(conn);
    await this.#scheduleAlarm(connectionDeadline(conn));
    return upgradeResponse(client, select);
  }

  /** Handles one client frame: size and rate limits first, then the message in order per socket. */
  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    this.#ensureInitialized();
    const conn = this.#conns.get(ws);
    if (!conn) return closeSocket(ws, 1011, "unknown connection");
    const size = typeof message === "string" ? utf8Length(message, this.limits.maxMessageBytes) : message.byteLength;
    if (size > this.limits.maxMessageBytes)
      return this.#close(conn, CloseCode.MESSAGE_TOO_BIG, `Messages are limited to ${this.limits.maxMessageBytes} bytes.`);
    if (!takeToken(conn, this.limits.messagesPerSecond, this.limits.messageBurst)) {
      return this.#close(conn, CloseCode.RATE_LIMITED, `More than ${this.limits.messagesPerSecond} messages per second; slow down.`);
    }
    if (typeof message !== "string") return send(conn, protocolError("BINARY_NOT_SUPPORTED", "Send JSON text frames.").toFrame());
    conn.queue = conn.queue
      .then(() => this.#handle(conn, message))
      .catch((err) => {
        console.error(JSON.stringify({ msg: "realtime message failed", error: String(err), stack: (err as Error)?.stack }));
        send(conn, protocolError("INTERNAL", "The message could not be handled; retry.").toFrame());
      });
    await conn.queue;
  }

  /** A socket closed: its subscriptions end and it leaves every presence channel. */
  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    const conn = this.#conns.get(ws);
    if (conn) this.#drop(conn);
    closeSocket(ws, code, reason);
  }

  /** A socket failed: treated like a close, so no member lingers. */
  override async webSocketError(ws: WebSocket): Promise<void> {
    const conn = this.#conns.get(ws);
    if (conn) this.#drop(conn);
  }

  /**
   * The actor's one alarm: closes sockets whose auth deadline passed (4408) or whose token expired (4401).
   * Needs only the sockets, never the block: an alarm that wakes the actor after a runtime restart has no `ctx.id.name` (workerd#6850).
   */
  override async alarm(): Promise<void> {
    const now = Date.now();
    for (const conn of [...this.#conns.values()]) {
      if (conn.caller === null && conn.authDeadline <= now) {
        this.#close(conn, CloseCode.AUTH_TIMEOUT, `No "auth" message within ${this.limits.authTimeoutMs} ms of connecting.`);
      } else if (conn.caller?.kind === "user" && conn.caller.expiresAt <= now) {
        this.#close(conn, CloseCode.AUTH_FAILED, 'The token expired; send a fresh one in an "auth" message before it does.');
      }
    }
    this.#alarmAt = null;
    await this.#scheduleAlarm();
  }

  // ---- messages ----

  async #handle(conn: Connection, text: string): Promise<void> {
    if (conn.closed) return;
    let message: ClientMessage;
    try {
      message = parseClientMessage(text, this.limits);
    } catch (err) {
      if (err instanceof HttpError) return send(conn, err.toFrame());
      throw err;
    }
    if (message.type === "auth") return this.#authenticate(conn, message.token);
    if (message.type === "ping") return send(conn, PONG_FRAME);
    if (conn.caller === null) return send(conn, protocolError("AUTH_REQUIRED", 'Send {"type":"auth","token":"..."} first.').toFrame());
    try {
      switch (message.type) {
        case "subscribe":
          return await this.#subscribe(conn, message);
        case "unsubscribe":
          return this.#unsubscribe(conn, message.id);
        case "broadcast":
          return this.#broadcast(
            conn,
            JSON.stringify({ type: "broadcast", channel: message.channel, event: message.event, payload: message.payload, from: conn.id }),
          );
        case "presence":
          return this.#joinPresence(conn, message.channel, message.state);
        case "presence.leave":
          return this.#presence.leave(conn, message.channel);
      }
    } catch (err) {
      if (err instanceof HttpError) return send(conn, err.toFrame());
      throw err;
    }
  }

  async #authenticate(conn: Connection, token: string): Promise<void> {
    const block = this.#ensureInitialized();
    let caller: Caller;
    try {
      caller = await authenticateBearer(token, this.env, ownTokens(this.env));
    } catch (err) {
      const detail = err instanceof HttpError ? err.detail : "The token could not be verified.";
      return this.#close(conn, CloseCode.AUTH_FAILED, detail);
    }
    if (conn.closed) return;
    if (!checkRule(config, caller, block, null, "read").allowed) {
      return this.#close(conn, CloseCode.FORBIDDEN, `The rules of "${block.namespace}" do not allow you to read "${block.name}".`);
    }
    conn.caller = caller;
    conn.authDeadline = 0;
    saveAttachment(conn);
    this.#sendReady(conn);
    await this.#scheduleAlarm(connectionDeadline(conn));
  }

  async #subscribe(conn: Connection, message: SubscribeMessage): Promise<void> {
    const block = this.#ensureInitialized();
    const { id, table } = message;
    const caller = conn.caller;
    if (caller === null) return;
    if (conn.subscriptions.has(id))
      throw protocolError(
        "SUBSCRIPTION_EXISTS",
        `Subscription "${id}" already exists on this socket; unsubscribe first or pick another id.`,
        id,
      );
    if (conn.subscriptions.size >= this.limits.subscriptionsPerSocket) {
      throw protocolError("SUBSCRIPTION_LIMIT", `A socket holds at most ${this.limits.subscriptionsPerSocket} subscriptions.`, id);
    }
    const tables = config.namespaces[block.namespace]?.tables ?? {};
    if (!Object.hasOwn(tables, table))
      throw protocolError("TABLE_NOT_FOUND", `Table "${table}" is not declared in namespace "${block.namespace}".`, id);
    if (!checkRule(config, caller, block, table, "read").allowed) {
      throw protocolError("FORBIDDEN", `The rules of "${block.namespace}" do not allow you to read "${table}".`, id);
    }
    let predicate: RowPredicate;
    try {
      predicate = compileFilter(block, table, message.filter ?? "");
    } catch (err) {
      if (err instanceof HttpError) throw protocolError(err.code, err.detail, id);
      throw err;
    }
    const batch = message.batch === true;
    const sub: Subscription = { conn, id, table, filter: message.filter ?? "", predicate, batch, cursor: 0, live: false, ended: false };
    conn.subscriptions.set(id, sub);
    this.#feed.add(sub);
    this.#store.addSubscription({ conn: conn.id, id, table, filter: sub.filter, batch });
    try {
      await this.#feed.start(sub, message, caller);
    } catch (err) {
      this.#unsubscribe(conn, id);
      if (err instanceof HttpError) throw protocolError(err.code, err.detail, id);
      throw err;
    }
  }

  #unsubscribe(conn: Connection, id: string): void {
    const sub = conn.subscriptions.get(id);
    if (!sub) return;
    sub.ended = true;
    conn.subscriptions.delete(id);
    this.#feed.remove(sub);
    this.#store.removeSubscription(conn.id, id);
  }

  #broadcast(from: Connection, frame: string): void {
    for (const conn of this.#conns.values()) {
      if (conn !== from && conn.caller !== null) send(conn, frame);
    }
  }

  #joinPresence(conn: Connection, channel: string, state: unknown): void {
    const stateJson = JSON.stringify(state);
    if (utf8Length(stateJson, this.limits.maxPresenceStateBytes) > this.limits.maxPresenceStateBytes) {
      throw protocolError("PRESENCE_STATE_TOO_LARGE", `Presence state is limited to ${this.limits.maxPresenceStateBytes} bytes of JSON.`);
    }
    if (!conn.channels.has(channel) && conn.channels.size >= this.limits.presenceChannelsPerSocket) {
      throw protocolError("PRESENCE_LIMIT", `A socket joins at most ${this.limits.presenceChannelsPerSocket} presence channels.`);
    }
    this.#presence.join(conn, channel, stateJson);
  }

  // ---- connection lifecycle ----

  #sendReady(conn: Connection): void {
    send(conn, JSON.stringify({ type: "ready", connectionId: conn.id, seq: this.#feed.delivered }));
  }

  /** Closes a socket from the server side and forgets it at once (no ghost until the close completes). */
  #close(conn: Connection, code: number, reason: string): void {
    this.#drop(conn);
    closeSocket(conn.ws, code, reason);
  }

  #drop(conn: Connection): void {
    if (!this.#conns.delete(conn.ws)) return;
    this.#byId.delete(conn.id);
    for (const sub of conn.subscriptions.values()) {
      sub.ended = true;
      this.#feed.remove(sub);
    }
    conn.subscriptions.clear();
    this.#presence.leaveAll(conn);
    this.#store.forgetConnection(conn.id);
    conn.closed = true;
  }

  /** Subscriptions back from SQLite after a wake-up, compiled again; rows of gone sockets are dropped. */
  #restoreSubscriptions(block: Block): void {
    for (const stored of this.#store.subscriptions()) {
      const conn = this.#byId.get(stored.conn);
      if (!conn) {
        this.#store.forgetConnection(stored.conn);
        continue;
      }
      try {
        const predicate = compileFilter(block, stored.table, stored.filter);
        const sub: Subscription = {
          conn,
          id: stored.id,
          table: stored.table,
          filter: stored.filter,
          predicate,
          batch: stored.batch,
          cursor: this.#feed.delivered,
          live: true,
          ended: false,
        };
        conn.subscriptions.set(sub.id, sub);
        this.#feed.add(sub);
      } catch {
        this.#store.removeSubscription(stored.conn, stored.id);
      }
    }
  }

  /**
   * Once, at the first publish, upgrade or message (like partyserver's `#ensureInitialized`): learns
   * the block from the name this actor was reached by, restores the subscriptions stored before
   * hibernation and catches them up on publishes they missed. Returns the block. The name is
   * remembered once: an instance the runtime wakes for its alarm after a restart stays without
   * `ctx.id.name` for its whole life, requests included (workerd#6850).
   */
  #ensureInitialized(): Block {
    if (this.#block !== null) return this.#block;
    const remembered = this.#store.get("block") ?? undefined;
    const block = blockOfActor("RealtimeDO", this.ctx.id.name ?? remembered, this.ctx.id, config);
    if (block.name !== remembered) this.#store.set("block", block.name);
    this.#block = block;
    this.#restoreSubscriptions(block);
    if (this.#feed.size > 0) this.ctx.waitUntil(this.#feed.catchUp());
    return block;
  }

  #database(): ChangeSource {
    return databaseOf(this.env, this.#ensureInitialized().name);
  }

  /** Keeps the one alarm at the earliest connection deadline. */
  async #scheduleAlarm(candidate?: number | null): Promise<void> {
    if (this.#alarmAt === undefined) this.#alarmAt = await this.ctx.storage.getAlarm();
    let next = candidate ?? null;
    if (candidate === undefined) {
      for (const conn of this.#conns.values()) {
        const deadline = connectionDeadline(conn);
        if (deadline !== null && (next === null || deadline < next)) next = deadline;
      }
    }
    if (next === null) return;
    if (this.#alarmAt !== null && this.#alarmAt <= next) return;
    this.#alarmAt = next;
    await this.ctx.storage.setAlarm(next);
  }
}
