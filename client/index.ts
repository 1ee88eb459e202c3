/**
 * The Actorbase client: typed REST access to a block's tables and realtime subscriptions that
 * survive dropped connections without losing or repeating a change.
 *
 * ```ts
 * const client = createClient({ url: "https://api.example.com" });
 * const { user } = await client.auth.signIn({ email, password }); // kept in localStorage, refreshed before expiry
 * const notes = client.db(`user:${user.id}`).table<Note>("notes");
 * await notes.insert({ title: "Plan" });
 * const sub = notes.subscribe("done=eq.false", (change) => render(change), { snapshot: true, onSnapshot: renderAll });
 * ```
 */
import type { Row } from "../shared/protocol";
import { AdminClient } from "./admin";
import { AuthClient, type AuthOptions } from "./auth";
import { type BatchOp, type Transport, TableRest, request } from "./rest";
import { RealtimeConnection, type SubscribeOptions, type Subscription, type TableChange } from "./realtime";
import type { BlockFor, BlockNameFor } from "./typed";

export interface ClientOptions {
  /** The API's base URL (`https://api.example.com`, `http://127.0.0.1:8787`). */
  url: string;
  /** A fixed token (a JWT, or the service key on servers); without `token` and `getToken`, `client.auth`'s session is used. */
  token?: string;
  /** Called for every request and (re)connection: return a fresh token; lets sockets refresh before expiry. */
  getToken?: () => string | null | undefined | Promise<string | null | undefined>;
  /** A fetch implementation (defaults to the global one). */
  fetch?: typeof fetch;
  /** A WebSocket constructor where there is no global one (Node < 22: `import WebSocket from "ws"`). */
  WebSocket?: unknown;
  /** Reconnect backoff bounds (partysocket's). */
  minReconnectDelayMs?: number;
  maxReconnectDelayMs?: number;
  /** Where `client.auth` keeps its session (default: `localStorage` when there is one, else memory). */
  auth?: AuthOptions;
}

/**
 * One table of one block: REST calls plus `subscribe`. `Insert`, `Patch` and `Change` (the row a change
 * carries) default to today's loose types; a typed client's declared tables narrow them (client/typed.ts).
 */
export class TableClient<
  T extends object = Row,
  Insert extends object = Partial<T>,
  Patch extends object = Record<string, unknown>,
  Change extends object = T & Row,
> extends TableRest<T, Insert, Patch> {
  readonly #realtime: () => RealtimeConnection;
  readonly #table: string;

  constructor(transport: Transport, block: string, table: string, realtime: () => RealtimeConnection) {
    super(transport, block, table);
    this.#table = table;
    this.#realtime = realtime;
  }

  /**
   * Follows the table's changes that match `filter` (the list grammar; "" for all rows). After any
   * reconnect the subscription resumes from the last change it delivered: each change once, in order.
   */
  subscribe(filter: string, onChange: (change: TableChange<Change>) => void, options: SubscribeOptions<T> = {}): Subscription<T> {
    // Changes carry whole stored rows (system columns included): `Change` describes them, `T` the snapshot.
    return this.#realtime().subscribe<T>(this.#table, filter, onChange as unknown as (change: TableChange<T>) => void, options);
  }
}

/** One block (`user:alice`, `public`): its tables, batch writes and its realtime socket. */
export class BlockClient {
  readonly name: string;
  readonly #transport: Transport;
  readonly #options: ClientOptions;
  readonly #refreshable: boolean;
  #realtime: RealtimeConnection | null = null;

  constructor(transport: Transport, name: string, options: ClientOptions, refreshable: boolean) {
    this.#transport = transport;
    this.name = name;
    this.#options = options;
    this.#refreshable = refreshable;
  }

  /** Typed access to a table: `db("user:alice").table<Note>("notes")`. */
  table<T extends object = Row>(name: string): TableClient<T> {
    return new TableClient<T>(this.#transport, this.name, name, () => this.realtime);
  }

  /** Several writes in one transaction, all or none. */
  batch(ops: BatchOp[], options: { idempotencyKey?: string } = {}): Promise<{ results: unknown[] }> {
    return request(this.#transport, "POST", `/api/db/${encodeURIComponent(this.name)}/batch`, { ops }, options);
  }

  /** The block's socket (opened on first use): subscriptions, `channel(name)` for broadcast and presence. */
  get realtime(): RealtimeConnection {
    if (!this.#realtime) {
      const options = this.#options;
      this.#realtime = new RealtimeConnection({
        url: `${options.url.replace(/^http/, "ws").replace(/\/$/, "")}/api/realtime/${encodeURIComponent(this.name)}`,
        token: this.#transport.token,
        refreshable: this.#refreshable,
        ...(options.WebSocket ? { WebSocket: options.WebSocket } : {}),
        ...(options.minReconnectDelayMs === undefined ? {} : { minReconnectDelayMs: options.minReconnectDelayMs }),
        ...(options.maxReconnectDelayMs === undefined ? {} : { maxReconnectDelayMs: options.maxReconnectDelayMs }),
      });
    }
    return this.#realtime;
  }

  /** @internal The signed-in user changed: an open socket connects again with the new token. */
  reconnect(): void {
    this.#realtime?.reconnect();
  }

  /** Closes the block's socket, if open. */
  close(): void {
    this.#realtime?.close();
    this.#realtime = null;
  }
}

/** A client; `Config` (`typeof config`, the app's `actorbase.config.ts`) types blocks and tables, see client/typed.ts. */
export interface ActorbaseClient<Config = unknown> {
  /** A block by name; the same object for the same name. Typed: only the config's namespaces and tables. */
  db<B extends BlockNameFor<Config>>(block: B): BlockFor<Config, B>;
  /** Accounts: sign up, sign in (password, anonymous, OAuth), the session and its refresh. */
  readonly auth: AuthClient;
  /** Operator calls (the client's token must be the service key): block catalog, schema, accounts, rate-limit keys, OpenAPI. */
  readonly admin: AdminClient;
  /** Closes every socket this client opened and stops the session's refresh timer. */
  close(): void;
}

/** Creates a client for one Actorbase deployment; `createClient<typeof config>(...)` types it from the app's config. */
export function createClient<Config = unknown>(options: ClientOptions): ActorbaseClient<Config> {
  if (!options.url) throw new TypeError("createClient needs the API's url");
  const baseUrl = options.url.replace(/\/$/, "");
  const fetchImpl: typeof fetch = options.fetch ?? ((...args) => fetch(...args));
  const auth = new AuthClient(baseUrl, fetchImpl, options.auth);
  // No token of its own: requests and sockets take client.auth's, which refreshes itself.
  const useAuth = options.token === undefined && options.getToken === undefined;
  const transport: Transport = {
    baseUrl,
    fetch: fetchImpl,
    token: useAuth
      ? () => auth.accessToken()
      : async () => (options.getToken ? ((await options.getToken()) ?? null) : (options.token ?? null)),
  };
  const blocks = new Map<string, BlockClient>();
  if (useAuth) {
    auth.onChange((event) => {
      if (event === "SIGNED_IN" || event === "SIGNED_OUT") for (const block of blocks.values()) block.reconnect();
    });
  }
  return {
    auth,
    admin: new AdminClient(transport),
    db<B extends BlockNameFor<Config>>(name: B): BlockFor<Config, B> {
      let block = blocks.get(name);
      if (!block) blocks.set(name, (block = new BlockClient(transport, name, options, useAuth || options.getToken !== undefined)));
      // The typed view is the same object: typed.ts only narrows its types.
      return block as BlockFor<Config, B>;
    },
    close() {
      auth.close();
      for (const block of blocks.values()) block.close();
      blocks.clear();
    },
  };
}

export { ActorbaseError } from "./errors";
export { AdminClient } from "./admin";
export type {
  Account,
  AppSchema,
  BlockInfo,
  BlockPage,
  BlockQuery,
  ColumnSchema,
  NamespaceSchema,
  RateLimitPolicies,
  RateLimitState,
  TableSchema,
} from "./admin";
export { AuthClient } from "./auth";
export type { AuthEvent, AuthListener, AuthOptions, AuthSession, AuthUser, Credentials, UserChange } from "./auth";
export { memoryStorage } from "./auth-storage";
export type { AuthStorage } from "./auth-storage";
export type { ClientErrorCode, ErrorCode } from "./errors";
export type { BatchOp, ListQuery, ListResult, Stored, SystemColumns, WriteOptions } from "./rest";
export type { Channel, BroadcastListener, PresenceListener } from "./channel";
export type { RealtimeConnection, Subscription, SubscribeOptions, TableChange } from "./realtime";
export type { Row } from "../shared/protocol";
export type { BlockName, DeclaredConfig, TableInsert, TablePatch, TableRow, TypedBlock, TypedTable } from "./typed";
