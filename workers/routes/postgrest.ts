/**
 * The PostgREST-compatible routes (docs/postgrest.md): `/rest/v1/<table>` with the block as the
 * schema (`Accept-Profile` / `Content-Profile`) and `/api/rest/<block>/<table>`. They translate the
 * request (workers/postgrest/) and call the same DatabaseDO methods as the native routes, so rules,
 * limits, the change log and idempotency apply alike; answers and errors are shaped as PostgREST's.
 */
import type { Caller } from "../../shared/caller";
import { parseBlock } from "../../shared/block";
import type { Row } from "../../shared/protocol";
import { tableColumns } from "../../shared/query";
import { HttpError } from "../../shared/errors";
import { unwrap } from "../../shared/rpc";
import { type DatabaseRpc, type WriteOptions, type WriteResult, databaseFor } from "../../objects/database/contract";
import { config } from "../config";
import type { AppRequest, RouteStep } from "../context";
import { readJson } from "../middleware/body";
import { routeTable } from "../middleware/rules";
import { PostgrestError, notSupported, parseError, postgrestErrorResponse } from "../postgrest/errors";
import type { TableShape } from "../postgrest/filters";
import { parseAccept, parsePrefer, parseRange } from "../postgrest/headers";
import { withoutDuplicates } from "../postgrest/ignore-duplicates";
import { idempotencyKey } from "../write-options";
import { readPage } from "../postgrest/list";
import { type PostgrestQuery, nativeFilters, nativeQueryString, parsePostgrestQuery } from "../postgrest/query";
import { contentRange, emptyResponse, notOneRow, rowsResponse, shapeRows, sortRows } from "../postgrest/response";

/**
 * Runs a PostgREST route's steps in order (as itty would) and answers anything thrown in PostgREST's
 * error shape: the one place besides the router's catch that renders errors, because clients of
 * these routes read `code`/`message`/`details`/`hint` (errors before the route stay problem+json).
 */
export function postgrest(...steps: RouteStep[]): RouteStep {
  return async (request, env, ctx) => {
    try {
      for (const step of steps) {
        const response = await step(request, env, ctx);
        if (response !== undefined) return response;
      }
      return undefined;
    } catch (err) {
      return postgrestErrorResponse(err, request);
    }
  };
}

/** Route step for `/rest/v1`: the block is the schema, from `Accept-Profile` (GET, HEAD) or `Content-Profile` (writes). */
export function withProfileBlock(request: AppRequest): undefined {
  const header = request.method === "GET" || request.method === "HEAD" ? "Accept-Profile" : "Content-Profile";
  const value = request.headers.get(header)?.trim() ?? "";
  if (value === "") {
    throw new PostgrestError(
      400,
      "INVALID_BLOCK",
      "PGRST106",
      `Name the block as the schema: send ${header}: <block> (user:<id>, public).`,
      {
        hint: 'supabase-js and postgrest-js send it for .schema("user:<id>"); or use /api/rest/<block>/<table>.',
      },
    );
  }
  request.state.block = parseBlock(value, config);
}

/** Any method on `.../rpc/<function>`: 400, there are no stored functions to call. */
export function rpcNotSupported(): never {
  throw notSupported("RPC (/rpc/<function>) is not supported: Actorbase has no stored functions.", "PGRST202");
}

interface Target {
  caller: Caller;
  actor: DatabaseRpc;
  table: TableShape;
  query: PostgrestQuery;
}

function target(request: AppRequest, env: Env): Target {
  const { caller, block } = request.state;
  if (!caller || !block) throw new Error("PostgREST routes need authenticate and a block step first");
  const name = routeTable(request);
  const spec = config.namespaces[block.namespace]?.tables[name];
  if (!spec) throw new Error("routeTable checked the table");
  const table: TableShape = { name, columns: tableColumns(spec), search: spec.search ?? [] };
  const query = parsePostgrestQuery(new URL(request.url).search, table);
  return { caller, actor: databaseFor(env, block.name), table, query };
}

/** Only `Idempotency-Key`: PostgREST has no If-Match. */
function writeOptions(request: AppRequest): WriteOptions {
  const key = idempotencyKey(request.headers.get("Idempotency-Key"));
  return key === null ? {} : { idempotencyKey: key };
}

function writeHeaders(result: WriteResult): Record<string, string> {
  return { "X-Seq": String(result.seq), ...(result.replayed ? { "Idempotent-Replayed": "true" } : {}) };
}

/** GET and HEAD `/rest/v1/<table>`: rows as a bare array (or one object), `Content-Range`, counts. */
export async function restRead(request: AppRequest, env: Env): Promise<Response> {
  const { caller, actor, table, query } = target(request, env);
  if (query.columns !== null || query.onConflict !== null) throw parseError("columns and on_conflict apply to inserts (POST) only.");
  const prefer = parsePrefer(request.headers.get("Prefer"));
  const accept = parseAccept(request.headers.get("Accept"));
  const range = parseRange(request.headers.get("Range"));
  const offset = query.offset ?? range?.offset ?? 0;
  // Like Supabase's "max rows": a page holds at most maxPageSize rows, whatever limit asks for.
  const limit = Math.min(query.limit ?? range?.limit ?? config.limits.maxPageSize, config.limits.maxPageSize);
  const page = await readPage(actor, caller, table, query, { offset, limit }, prefer.count);
  const rows = shapeRows(page.items, query.select, accept.stripNulls);
  const headers = { "Content-Range": contentRange(offset, rows.length, page.total), "X-Seq": String(page.seq) };
  return rowsResponse(rows, accept, 200, headers, request.method === "HEAD");
}

/** POST `/rest/v1/<table>`: insert an object or an array; `resolution=` upserts; `return=` chooses the answer. */
export async function restInsert(request: AppRequest, env: Env): Promise<Response> {
  const { caller, actor, table, query } = target(request, env);
  if (query.filters.length > 0 || query.search !== null || query.limit !== null || query.offset !== null) {
    throw parseError("Filters, limit and offset do not apply to an insert; send the rows as the body.");
  }
  const prefer = parsePrefer(request.headers.get("Prefer"));
  const accept = parseAccept(request.headers.get("Accept"));
  const options = writeOptions(request);
  const body = await readJson(request, config.limits.maxBodyBytes);
  const many = Array.isArray(body);
  let rows: unknown[] = many ? body : [body];
  const columns = query.columns;
  if (columns !== null) rows = rows.map((row) => pick(row, columns));
  const conflict = query.onConflict ?? "id";
  if (prefer.resolution === "merge") options.onConflict = conflict;
  if (rows.length > config.limits.maxRowsPerWrite) {
    // Before ignore-duplicates looks anything up: the insert would refuse these rows anyway.
    throw new HttpError(
      413,
      "TOO_MANY_ROWS",
      `${rows.length} rows in one request; the limit is ${config.limits.maxRowsPerWrite}. Split the write.`,
    );
  }
  if (prefer.resolution === "ignore") rows = await withoutDuplicates(actor, caller, table.name, rows, conflict);
  if (accept.object && rows.length !== 1) throw notOneRow(rows.length);
  let written: Row[] = [];
  let headers: Record<string, string> = {};
  if (rows.length > 0) {
    const result = unwrap(await actor.insert(caller, table.name, many ? rows : rows[0], options));
    written = rowsOf(result.body);
    headers = writeHeaders(result);
  }
  if (prefer.count) headers["Content-Range"] = contentRange(0, prefer.return === "representation" ? written.length : 0, written.length);
  if (prefer.return === "minimal") return emptyResponse(201, headers);
  return rowsResponse(shapeRows(sortRows(written, query.order), query.select, accept.stripNulls), accept, 201, headers);
}

/** PATCH `/rest/v1/<table>?<filters>`: updates every matching row the caller may change. */
export function restUpdate(request: AppRequest, env: Env): Promise<Response> {
  return writeByFilter(request, env, "update");
}

/** DELETE `/rest/v1/<table>?<filters>`: deletes every matching row the caller may delete. */
export function restDelete(request: AppRequest, env: Env): Promise<Response> {
  return writeByFilter(request, env, "delete");
}

async function writeByFilter(request: AppRequest, env: Env, op: "update" | "delete"): Promise<Response> {
  const { caller, actor, table, query } = target(request, env);
  if (query.search !== null) throw notSupported("Full-text filters do not apply to PATCH and DELETE here; filter on columns.");
  if (query.limit !== null || query.offset !== null || query.columns !== null || query.onConflict !== null) {
    throw notSupported("limit, offset, columns and on_conflict do not apply to PATCH and DELETE here; they change every matching row.");
  }
  if (query.filters.length === 0) {
    throw parseError(
      `${request.method} needs at least one filter.`,
      "INVALID_QUERY",
      "To change every row, say so with a filter such as id=not.is.null.",
    );
  }
  const prefer = parsePrefer(request.headers.get("Prefer"));
  const accept = parseAccept(request.headers.get("Accept"));
  const options = writeOptions(request);
  const body = op === "update" ? await readJson(request, config.limits.maxBodyBytes) : undefined;
  const filter = nativeQueryString(nativeFilters(query));
  // PostgREST rolls back a write that changed the wrong number of rows; the actor checks the count
  // inside the write's transaction and writes nothing (docs/postgrest.md, "Writes by filter").
  const expectRows = accept.object ? { exactly: 1 } : prefer.maxAffected !== null ? { atMost: prefer.maxAffected } : null;
  const bounded = { ...options, expectRows };
  let result: WriteResult;
  try {
    result = unwrap(
      op === "update"
        ? await actor.updateWhere(caller, table.name, filter, body, bounded)
        : await actor.deleteWhere(caller, table.name, filter, bounded),
    );
  } catch (error) {
    if (!(error instanceof HttpError) || error.code !== "NOT_ACCEPTABLE" || expectRows === null) throw error;
    const matching = Number(error.errors?.rows ?? 0);
    if (accept.object) throw notOneRow(matching);
    throw new PostgrestError(400, "INVALID_REQUEST", "PGRST124", "Query result exceeds max-affected preference constraint", {
      details: `The query affects ${matching} rows`,
    });
  }
  const written = rowsOf(result.body);
  const headers = writeHeaders(result);
  const representation = prefer.return === "representation";
  if (prefer.count) headers["Content-Range"] = contentRange(0, representation ? written.length : 0, written.length);
  if (!representation) return emptyResponse(204, headers);
  return rowsResponse(shapeRows(sortRows(written, query.order), query.select, accept.stripNulls), accept, 200, headers);
}

/** Rows of a native write answer: `{items}` (an array insert, a write by filter) or the one row. */
function rowsOf(body: unknown): Row[] {
  if (typeof body !== "object" || body === null) return [];
  const items = (body as { items?: unknown }).items;
  return Array.isArray(items) ? (items as Row[]) : [body as Row];
}

/** `columns=`: only these keys of each row are inserted (absent ones take their defaults). */
function pick(row: unknown, columns: readonly string[]): unknown {
  if (typeof row !== "object" || row === null || Array.isArray(row)) return row;
  const source = row as Record<string, unknown>;
  return Object.fromEntries(columns.filter((column) => Object.hasOwn(source, column)).map((column) => [column, source[column]]));
}
