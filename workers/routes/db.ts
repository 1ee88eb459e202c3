/**
 * The database routes: parse the request, call the block's DatabaseDO over RPC, shape the answer.
 * Block-level rules already ran (requireRule); row-level rules run inside the actor. Every answer
 * carries `X-Seq`; reads carry an `ETag` derived from it and honour `If-None-Match` with 304.
 */
import type { Caller } from "../../shared/caller";
import { HttpError } from "../../shared/errors";
import { unwrap } from "../../shared/rpc";
import { type DatabaseRpc, type WriteResult, databaseFor } from "../../objects/database/contract";
import { config } from "../config";
import { type AppRequest, json } from "../context";
import { readJson } from "../middleware/body";
import { routeTable } from "../middleware/rules";
import { writeOptions } from "../write-options";

function target(request: AppRequest, env: Env): { caller: Caller; actor: DatabaseRpc } {
  const { caller, block } = request.state;
  if (!caller || !block) throw new Error("database routes need authenticate and withBlock first");
  return { caller, actor: databaseFor(env, block.name) };
}

function rowId(request: AppRequest): string {
  try {
    return decodeURIComponent(request.params.id ?? "");
  } catch (cause) {
    throw new HttpError(400, "INVALID_ID", "The row id is not valid percent-encoding.", { cause });
  }
}

/** The weak ETag of a read at `seq`: nothing in the block changed while it stays the same. */
function etag(seq: number): string {
  return `W/"${seq}"`;
}

function readResponse(request: AppRequest, body: unknown, seq: number): Response {
  const tag = etag(seq);
  // The ETag is the block's seq, the same for every caller: Vary keeps a browser from revalidating
  // one account's cached rows with another account's token (a 304 would show the first one's data).
  const headers = { "X-Seq": String(seq), ETag: tag, "Cache-Control": "private, no-cache", Vary: "Authorization" };
  const ifNoneMatch = request.headers.get("If-None-Match");
  if (
    ifNoneMatch !== null &&
    (ifNoneMatch.trim() === "*" || ifNoneMatch.split(",").some((t) => t.trim().replace(/^W\//, "") === tag.slice(2)))
  ) {
    return new Response(null, { status: 304, headers });
  }
  return json(body, 200, headers);
}

function writeResponse(result: WriteResult): Response {
  const headers: Record<string, string> = { "X-Seq": String(result.seq) };
  if (result.replayed) headers["Idempotent-Replayed"] = "true";
  if (result.ms !== undefined) headers["Server-Timing"] = `db;dur=${result.ms.toFixed(1)}`;
  return json(result.body, result.status, headers);
}

/** Reads a write body: 415, 413, or 400 for bad JSON and nesting too deep for RPC (`readJson`). */
function readBody(request: AppRequest): Promise<unknown> {
  return readJson(request, config.limits.maxBodyBytes);
}

/** GET /api/db/:block/tables/:table: a page of rows with the query grammar. */
export async function listRows(request: AppRequest, env: Env): Promise<Response> {
  const { caller, actor } = target(request, env);
  const table = routeTable(request);
  const query = new URL(request.url).search.slice(1);
  const result = unwrap(await actor.list(caller, table, query));
  return readResponse(request, result, result.seq);
}

/**
 * PATCH /api/db/:block/tables/:table?<filters>: one partial update applied to every matching row
 * the caller may change, all or none; answers `{items, count}`. If-Match is refused (400).
 */
export async function updateRows(request: AppRequest, env: Env): Promise<Response> {
  const { caller, actor } = target(request, env);
  const table = routeTable(request);
  const query = new URL(request.url).search.slice(1);
  const options = writeOptions(request);
  const body = await readBody(request);
  return writeResponse(unwrap(await actor.updateWhere(caller, table, query, body, options)));
}

/** DELETE /api/db/:block/tables/:table?<filters>: deletes every matching row the caller may delete; answers `{items, count}`. */
export async function deleteRows(request: AppRequest, env: Env): Promise<Response> {
  const { caller, actor } = target(request, env);
  const table = routeTable(request);
  const query = new URL(request.url).search.slice(1);
  return writeResponse(unwrap(await actor.deleteWhere(caller, table, query, writeOptions(request))));
}

/** GET /api/db/:block/tables/:table/:id: one row, 404 when missing or hidden by the read rule. */
export async function getRow(request: AppRequest, env: Env): Promise<Response> {
  const { caller, actor } = target(request, env);
  const result = unwrap(await actor.getRow(caller, routeTable(request), rowId(request)));
  return readResponse(request, result.row, result.seq);
}

/** POST /api/db/:block/tables/:table: insert one (object) or many (array); `?onConflict=` upserts. */
export async function insertRows(request: AppRequest, env: Env): Promise<Response> {
  const { caller, actor } = target(request, env);
  const table = routeTable(request);
  const options = writeOptions(request);
  const onConflict = new URL(request.url).searchParams.get("onConflict");
  if (onConflict !== null) options.onConflict = onConflict;
  const body = await readBody(request);
  return writeResponse(unwrap(await actor.insert(caller, table, body, options)));
}

/** PATCH /api/db/:block/tables/:table/:id: partial update with `$inc`/`$append` and `If-Match`. */
export async function updateRow(request: AppRequest, env: Env): Promise<Response> {
  const { caller, actor } = target(request, env);
  const table = routeTable(request);
  const options = writeOptions(request);
  const body = await readBody(request);
  return writeResponse(unwrap(await actor.update(caller, table, rowId(request), body, options)));
}

/** DELETE /api/db/:block/tables/:table/:id: answers `{id, deleted: true}`. */
export async function deleteRow(request: AppRequest, env: Env): Promise<Response> {
  const { caller, actor } = target(request, env);
  const table = routeTable(request);
  return writeResponse(unwrap(await actor.remove(caller, table, rowId(request), writeOptions(request))));
}

/** POST /api/db/:block/batch: insert/update/delete ops in one transaction, all or none. */
export async function runBatch(request: AppRequest, env: Env): Promise<Response> {
  const { caller, actor } = target(request, env);
  const options = writeOptions(request);
  const body = await readBody(request);
  return writeResponse(unwrap(await actor.batch(caller, body, options)));
}
