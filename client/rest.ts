/**
 * Typed REST access to one block's tables: list, get, insert, update, delete (one row or by filter) and batch, mapped
 * one-to-one onto `/api/db/<block>/...` (docs/api.md). Every call sends the current token.
 */
import type { Row } from "../shared/protocol";
import { errorFrom } from "./errors";

/** The system columns every stored row carries. */
export interface SystemColumns {
  id: string;
  createdAt: number;
  updatedAt: number;
  version: number;
}

export type Stored<T> = T & SystemColumns;

export interface ListResult<T> {
  items: Stored<T>[];
  nextCursor: string | null;
  /** The block's seq the page was read at (subscribe with `since: seq` to follow on). */
  seq: number;
  total?: number;
}

/** A list query: the raw grammar (`done=eq.false&order=priority.desc`) or its parameters as an object. */
export type ListQuery = string | Record<string, string | number | boolean>;

export interface WriteOptions {
  /** Optimistic concurrency: the version the row must still have (412 otherwise). */
  ifMatch?: number;
  /** Makes a retried write apply once (within 24 h). */
  idempotencyKey?: string;
}

/** The answer of a write by filter: the rows after the update (or as deleted), and how many. */
export interface WhereResult<T> {
  items: Stored<T>[];
  count: number;
}

export type BatchOp =
  | { op: "insert"; table: string; data: Row }
  | { op: "update"; table: string; id: string; data: Row }
  | { op: "delete"; table: string; id: string };

/** What the client needs to send a request: base URL, the token source and a fetch. */
export interface Transport {
  baseUrl: string;
  token(): Promise<string | null>;
  fetch: typeof fetch;
}

/** Waits before each new try of a request whose connection failed with no answer (ms). */
const RETRY_DELAYS_MS = [50, 250];

/**
 * Sends one JSON request to the API and returns the parsed body, throwing `ActorbaseError` on failure.
 * A request that is safe to repeat (a GET, or a write with an `idempotencyKey`) is sent again, up
 * to twice, when its connection fails with no answer (a reset under load): the key makes a write
 * apply once. Any answer, an error status included, is final.
 */
export async function request<T>(
  transport: Transport,
  method: string,
  path: string,
  body?: unknown,
  options: WriteOptions = {},
): Promise<T> {
  const headers: Record<string, string> = {};
  const token = await transport.token();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (options.ifMatch !== undefined) headers["If-Match"] = `"${options.ifMatch}"`;
  if (options.idempotencyKey !== undefined) headers["Idempotency-Key"] = options.idempotencyKey;
  const init = { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) };
  const repeatable = method === "GET" || options.idempotencyKey !== undefined;
  let response: Response;
  for (let attempt = 0; ; attempt++) {
    try {
      response = await transport.fetch(`${transport.baseUrl}${path}`, init);
      break;
    } catch (error) {
      const delay = RETRY_DELAYS_MS[attempt];
      // fetch throws with no answer (browsers and Node: TypeError; workerd: "Network connection lost"); an abort is the caller's.
      if (!repeatable || delay === undefined || (error as Error)?.name === "AbortError") throw error;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
  if (!response.ok) throw await errorFrom(response);
  return (await response.json()) as T;
}

function queryString(query: ListQuery | undefined): string {
  if (query === undefined) return "";
  const text =
    typeof query === "string"
      ? query.replace(/^\?/, "")
      : new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)])).toString();
  return text ? `?${text}` : "";
}

/**
 * REST calls on one table of one block: `T` is the row, `Insert` what an insert takes and `Patch`
 * what an update takes (declared tables of a typed client narrow both, see client/typed.ts).
 */
export class TableRest<T extends object, Insert extends object = Partial<T>, Patch extends object = Record<string, unknown>> {
  readonly #transport: Transport;
  readonly #path: string;

  constructor(transport: Transport, block: string, table: string) {
    this.#transport = transport;
    this.#path = `/api/db/${encodeURIComponent(block)}/tables/${encodeURIComponent(table)}`;
  }

  /** Lists rows with the query grammar; page on with `cursor: result.nextCursor`. */
  list(query?: ListQuery): Promise<ListResult<T>> {
    return request(this.#transport, "GET", `${this.#path}${queryString(query)}`);
  }

  /** One row by id (404 `ROW_NOT_FOUND` when missing or hidden by a rule). */
  get(id: string): Promise<Stored<T>> {
    return request(this.#transport, "GET", `${this.#path}/${encodeURIComponent(id)}`);
  }

  /** Inserts one row, or many (all or none) when given an array. */
  insert(data: Insert, options?: WriteOptions): Promise<Stored<T>>;
  insert(data: Insert[], options?: WriteOptions): Promise<Stored<T>[]>;
  async insert(data: Insert | Insert[], options: WriteOptions = {}): Promise<Stored<T> | Stored<T>[]> {
    if (Array.isArray(data)) return (await request<{ items: Stored<T>[] }>(this.#transport, "POST", this.#path, data, options)).items;
    return request(this.#transport, "POST", this.#path, data, options);
  }

  /** Updates some columns (field operations such as `{ priority: { $inc: 1 } }` included). */
  update(id: string, patch: Patch, options: WriteOptions = {}): Promise<Stored<T>> {
    return request(this.#transport, "PATCH", `${this.#path}/${encodeURIComponent(id)}`, patch, options);
  }

  /** Deletes one row. */
  delete(id: string, options: WriteOptions = {}): Promise<{ id: string; deleted: true }> {
    return request(this.#transport, "DELETE", `${this.#path}/${encodeURIComponent(id)}`, undefined, options);
  }

  /**
   * Applies one partial update to every row the filter matches (filters only, at least one; all or
   * none, at most the server's maxRowsPerWrite rows, else 413 `TOO_MANY_ROWS`). Resolves to the rows after the update.
   */
  updateWhere(filter: ListQuery, patch: Patch, options: Omit<WriteOptions, "ifMatch"> = {}): Promise<WhereResult<T>> {
    return request(this.#transport, "PATCH", `${this.#path}${queryString(filter)}`, patch, options);
  }

  /** Deletes every row the filter matches (as for `updateWhere`). Resolves to the rows deleted, as they were. */
  deleteWhere(filter: ListQuery, options: Omit<WriteOptions, "ifMatch"> = {}): Promise<WhereResult<T>> {
    return request(this.#transport, "DELETE", `${this.#path}${queryString(filter)}`, undefined, options);
  }
}
