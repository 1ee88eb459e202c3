/**
 * The DatabaseDO's contract: its RPC surface, the types it takes and returns, and the stub factory.
 * The Worker routes and the RealtimeDO use only this module; `DatabaseDO implements DatabaseRpc`,
 * so the compiler refuses a signature that drifts. Imports only from `shared/`.
 */
import type { Caller } from "../../shared/caller";
import type { ChangesPage } from "../../shared/change";
import type { Row } from "../../shared/protocol";
import type { RpcResult } from "../../shared/rpc";

/** What an import loaded: rows per table, and the block's seq now (the exported one). */
export interface ImportResult {
  rows: number;
  tables: Record<string, number>;
  seq: number;
}

/** A list answer before `seq` is added. */
export interface ListPage {
  items: Row[];
  nextCursor: string | null;
  total?: number;
}

/** A list answer: the page, and the seq the rows were read at. */
export interface ListResult extends ListPage {
  seq: number;
}

/** One row, and the seq it was read at. */
export interface RowResult {
  row: Row;
  seq: number;
}

/** A write answer: HTTP status and body, the seq it created, and whether it replays an earlier response. */
export interface WriteResult {
  status: number;
  body: unknown;
  seq: number;
  replayed?: boolean;
  /** Milliseconds the write transaction took inside the actor (0 where the runtime freezes clocks during execution). */
  ms?: number;
}

/** Per-request write options from headers. */
export interface WriteOptions {
  idempotencyKey?: string | null;
  ifMatch?: number | null;
  onConflict?: string | null;
  /**
   * Writes by filter only: how many rows may match (the rows the caller may change), checked inside
   * the write's transaction; otherwise 406 `NOT_ACCEPTABLE` with `errors.rows`, and nothing is written.
   */
  expectRows?: ExpectRows | null;
}

/** A bound on the rows a write by filter changes (PostgREST's `.single()` and `max-affected`). */
export interface ExpectRows {
  exactly?: number;
  atMost?: number;
}

/** Which changes `changesSince` reads: one table or all, and at most how many. */
export interface ChangesOptions {
  table?: string;
  limit?: number;
}

/**
 * The DatabaseDO's RPC surface (docs/database.md, "For other actors"). The actor knows its block
 * from the name it was reached by (`databaseFor`), so no method takes it.
 */
export interface DatabaseRpc {
  /** Lists rows with the query grammar, the read rule's filter ANDed in; rows and `seq` come from one read. */
  list(caller: Caller, table: string, query: string): Promise<RpcResult<ListResult>>;
  /** One row the caller may read (a hidden row is 404, like a missing one), with the seq it was read at. */
  getRow(caller: Caller, table: string, id: string): Promise<RpcResult<RowResult>>;
  /** Inserts one row (object body) or many (array body, all or none); `onConflict` turns it into an upsert. */
  insert(caller: Caller, table: string, body: unknown, options?: WriteOptions): Promise<RpcResult<WriteResult>>;
  /** Partially updates a row the caller may read and update; `ifMatch` is the expected version. */
  update(caller: Caller, table: string, id: string, body: unknown, options?: WriteOptions): Promise<RpcResult<WriteResult>>;
  /** Deletes a row the caller may read and delete; answers `{id, deleted: true}`. */
  remove(caller: Caller, table: string, id: string, options?: WriteOptions): Promise<RpcResult<WriteResult>>;
  /**
   * Applies one PATCH body to every row the filters match that the caller may read and update, all
   * or none, one change per row. `query` is a raw query string of filters in the native grammar
   * (at least one; no list parameters); answers 200 `{items: rows after, count}`; > maxRowsPerWrite matches: 413.
   */
  updateWhere(caller: Caller, table: string, query: string, body: unknown, options?: WriteOptions): Promise<RpcResult<WriteResult>>;
  /** Deletes every row the filters (`query`, as for `updateWhere`) match that the caller may read and delete; answers `{items: rows deleted, count}`. */
  deleteWhere(caller: Caller, table: string, query: string, options?: WriteOptions): Promise<RpcResult<WriteResult>>;
  /** Runs insert/update/delete ops in one transaction, all or none; answers `{results: [...]}` in op order. */
  batch(caller: Caller, body: unknown, options?: WriteOptions): Promise<RpcResult<WriteResult>>;
  /**
   * The block's RealtimeDO is starting a subscription: every commit from now on is handed off to it
   * (until a hand-off answers that nobody listens). Answers the block's seq so far.
   */
  listen(): Promise<number>;
  /** Changes after `since` (optionally one table), in seq order; `oldestSeq` tells when the log no longer reaches back. */
  changesSince(since: number, options?: ChangesOptions): Promise<ChangesPage>;
  /** The block as NDJSON: a header (seq, table shapes), every row, an end line (docs/operations.md, "Export and import"). */
  exportBlock(): Promise<RpcResult<ReadableStream<Uint8Array>>>;
  /** Loads an export into this block, all or none; 409 unless the block has never been written, 400 for a bad stream. */
  importBlock(body: ReadableStream<Uint8Array>): Promise<RpcResult<ImportResult>>;
}

/** The DatabaseDO serving `blockName` (`user:alice`, `public`). */
export function databaseFor(env: Env, blockName: string): DatabaseRpc {
  // No cast: the generated stub type drops the `ok: true` branch of every result holding rows
  // (`Record<string, unknown>` is not `Rpc.Serializable`), so callers must not use it directly;
  // returning it as `DatabaseRpc` widens it back. `DatabaseDO implements DatabaseRpc` keeps the two in step.
  return env.DATABASE.getByName(blockName);
}
