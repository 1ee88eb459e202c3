/**
 * Reads the page a PostgREST GET asks for through the DatabaseDO's `list`. SQLite sorts NULL
 * lowest (first ascending) while PostgreSQL sorts it highest (last ascending, the default PostgREST
 * clients expect, and what `.nullslast`/`.nullsfirst` ask for); when the first order column may
 * hold NULL and the two disagree, the page is read as two lists, the rows whose value is NULL and
 * the rest, and joined in the order asked for (offset and count carried across the seam).
 */
import type { Caller } from "../../shared/caller";
import type { Row } from "../../shared/protocol";
import { unwrap } from "../../shared/rpc";
import type { DatabaseRpc, ListResult } from "../../objects/database/contract";
import { notSupported } from "./errors";
import type { TableShape } from "./filters";
import { type OrderTerm, type PostgrestQuery, nativeFilters, nativeQueryString } from "./query";

/** Rows of one page, the total when counted, and the block's seq the last read saw. */
export interface Page {
  items: Row[];
  total: number | null;
  seq: number;
}

/** Where the page starts and how many rows it holds at most (0 is allowed: a count alone). */
export interface Window {
  offset: number;
  limit: number;
}

const NEVER_NULL = new Set(["id", "createdAt", "updatedAt", "version"]);

function mayBeNull(table: TableShape, column: string): boolean {
  return !NEVER_NULL.has(column) && table.columns[column]?.required !== true;
}

/** SQLite's placement of NULL differs from the one asked for. */
function nullsDiffer(term: OrderTerm, table: TableShape): boolean {
  return term.nullsFirst !== (term.direction === "asc") && mayBeNull(table, term.column);
}

/** Reads one page (see the module comment); `count` adds the total of every matching row. */
export async function readPage(
  actor: DatabaseRpc,
  caller: Caller,
  table: TableShape,
  query: PostgrestQuery,
  window: Window,
  count: boolean,
): Promise<Page> {
  for (const term of query.order.slice(1)) {
    if (term.explicitNulls && nullsDiffer(term, table)) {
      throw notSupported(`nullsfirst/nullslast is honoured on the first order column only; "${term.column}" is not first.`);
    }
  }
  const list = async (extra: [string, string][], offset: number, limit: number, withCount: boolean): Promise<ListResult> => {
    const params: [string, string][] = [...nativeFilters(query), ...extra];
    if (query.search !== null) params.push(["search", query.search]);
    if (query.select !== null) params.push(["select", [...new Set(query.select.map((item) => item.column))].join(",")]);
    if (query.order.length > 0) params.push(["order", query.order.map((term) => `${term.column}.${term.direction}`).join(",")]);
    params.push(["limit", String(Math.max(limit, 1))]);
    if (offset > 0) params.push(["offset", String(offset)]);
    if (withCount) params.push(["count", "exact"]);
    return unwrap(await actor.list(caller, table.name, nativeQueryString(params)));
  };

  const first = query.order[0];
  if (first === undefined || !nullsDiffer(first, table)) {
    const result = await list([], window.offset, window.limit, count);
    return { items: result.items.slice(0, window.limit), total: count ? (result.total ?? 0) : null, seq: result.seq };
  }
  const isNull: [string, string] = [first.column, "is.null"];
  const notNull: [string, string] = [first.column, "not.is.null"];
  const [headFilter, tailFilter] = first.nullsFirst ? [isNull, notNull] : [notNull, isNull];
  const head = await list([headFilter], window.offset, window.limit, true);
  const headTotal = head.total ?? 0;
  let items = head.items.slice(0, window.limit);
  let total: number | null = null;
  let seq = head.seq;
  const room = window.limit - items.length;
  if (room > 0 || count) {
    const tail = await list([tailFilter], Math.max(0, window.offset - headTotal), room, count);
    items = items.concat(tail.items.slice(0, room));
    if (count) total = headTotal + (tail.total ?? 0);
    seq = Math.max(seq, tail.seq);
  }
  return { items, total, seq };
}
