/**
 * A PostgREST query string, parsed once against the table (`select`, `order`, `limit`, `offset`,
 * `columns`, `on_conflict`, filters) and written back out in the native grammar (shared/query.ts)
 * for the DatabaseDO's `list`, `updateWhere` and `deleteWhere`.
 */
import { splitTopLevel } from "../../shared/query";
import { HttpError } from "../../shared/errors";
import { notSupported, parseError } from "./errors";
import { type TableShape, columnOf, translateParam } from "./filters";

/** A selected column and the key it is answered under (`alias:column`). */
export interface SelectItem {
  column: string;
  alias: string;
}

/** One `order` term; `nullsFirst` is explicit or PostgreSQL's default (first when descending). */
export interface OrderTerm {
  column: string;
  direction: "asc" | "desc";
  nullsFirst: boolean;
  explicitNulls: boolean;
}

/** A parsed PostgREST query. */
export interface PostgrestQuery {
  filters: { key: string; value: string }[];
  search: string | null;
  /** null: every column (`*`). */
  select: SelectItem[] | null;
  order: OrderTerm[];
  limit: number | null;
  offset: number | null;
  columns: string[] | null;
  onConflict: string | null;
}

/** Longer query strings are refused before parsing (the native grammar has its own, smaller limit). */
export const MAX_QUERY_LENGTH = 16_384;
const RESERVED = new Set(["select", "order", "limit", "offset", "columns", "on_conflict"]);

/** Parses a PostgREST query string; anything it cannot honour is a 400 in PostgREST's error shape. */
export function parsePostgrestQuery(search: string, table: TableShape): PostgrestQuery {
  const raw = search.startsWith("?") ? search.slice(1) : search;
  if (raw.length > MAX_QUERY_LENGTH) {
    throw parseError(`The query string is ${raw.length} characters; the limit is ${MAX_QUERY_LENGTH}.`, "QUERY_TOO_LONG");
  }
  const query: PostgrestQuery = {
    filters: [],
    search: null,
    select: null,
    order: [],
    limit: null,
    offset: null,
    columns: null,
    onConflict: null,
  };
  const seen = new Set<string>();
  for (const [key, value] of new URLSearchParams(raw)) {
    if (RESERVED.has(key)) {
      if (seen.has(key)) throw parseError(`"${key}" is given more than once; give it once.`);
      seen.add(key);
      if (key === "select") query.select = parseSelect(value, table);
      else if (key === "order") query.order = parseOrder(value, table);
      else if (key === "limit") query.limit = wholeNumber("limit", value);
      else if (key === "offset") query.offset = wholeNumber("offset", value);
      else if (key === "columns") query.columns = splitTopLevel(value, true).map((name) => columnOf(name.trim(), table));
      else query.onConflict = parseOnConflict(value, table);
      continue;
    }
    const translated = translateParam(key, value, table);
    if ("search" in translated) query.search = query.search === null ? translated.search : `${query.search} ${translated.search}`;
    else query.filters.push(translated);
  }
  return query;
}

function wholeNumber(name: string, value: string): number {
  if (!/^\d{1,15}$/.test(value)) throw parseError(`${name} takes a whole number; got "${value.slice(0, 64)}".`, "INVALID_LIMIT");
  return Number(value);
}

function parseSelect(text: string, table: TableShape): SelectItem[] | null {
  const trimmed = text.trim();
  if (trimmed === "" || trimmed === "*") return null;
  if (/\(\s*\)/.test(trimmed)) throw notSupported("Aggregate functions (count(), sum(), ...) are not supported.", "PGRST123");
  if (/[()!]|\.\.\./.test(trimmed)) {
    throw notSupported(
      "Resource embedding (select=a,b(c)) is not supported: each table stands alone in its block. Select columns of this table, and query the other table separately.",
      "PGRST200",
    );
  }
  const items: SelectItem[] = [];
  for (const part of splitTopLevel(trimmed, true)) {
    const item = part.trim();
    if (item === "*") return null;
    if (item.includes("::")) throw notSupported(`Casts such as "${item.slice(0, 64)}" are not supported.`);
    const colon = /^([A-Za-z_][A-Za-z0-9_]*):(.+)$/.exec(item);
    const column = columnOf(colon ? (colon[2] as string) : item, table);
    items.push({ column, alias: colon ? (colon[1] as string) : column });
  }
  return items;
}

function parseOrder(text: string, table: TableShape): OrderTerm[] {
  return text.split(",").map((part) => {
    const [raw = "", ...modifiers] = part.trim().split(".");
    const column = columnOf(raw, table);
    let direction: "asc" | "desc" | null = null;
    let nulls: boolean | null = null;
    for (const modifier of modifiers) {
      if ((modifier === "asc" || modifier === "desc") && direction === null) direction = modifier;
      else if ((modifier === "nullsfirst" || modifier === "nullslast") && nulls === null) nulls = modifier === "nullsfirst";
      else throw parseError(`order terms are column[.asc|.desc][.nullsfirst|.nullslast]; got "${part.slice(0, 64)}".`);
    }
    const dir = direction ?? "asc";
    return { column, direction: dir, nullsFirst: nulls ?? dir === "desc", explicitNulls: nulls !== null };
  });
}

function parseOnConflict(text: string, table: TableShape): string {
  const columns = splitTopLevel(text, true);
  if (columns.length !== 1) throw notSupported("on_conflict takes one column (id or a unique column) here.");
  return columnOf((columns[0] as string).trim(), table);
}

/** Percent-encodes only what would change the meaning of a query string, keeping it short for the native length limit. */
function encode(text: string): string {
  return text.replace(/[%&=+#\s]|[^\x21-\x7e]/gu, (ch) => {
    try {
      return encodeURIComponent(ch);
    } catch (cause) {
      // JSON.parse accepts "\ud800"; encodeURIComponent throws URIError on it.
      throw new HttpError(400, "INVALID_VALUE", "A value holds a lone UTF-16 surrogate, which is not valid Unicode; send valid text.", {
        cause,
      });
    }
  });
}

/** Native parameters as one query string. */
export function nativeQueryString(params: readonly (readonly [string, string])[]): string {
  return params.map(([key, value]) => `${encode(key)}=${encode(value)}`).join("&");
}

/** The native filter parameters of a query (`col=op.value`, `or=(...)`), for lists and writes by filter. */
export function nativeFilters(query: PostgrestQuery): [string, string][] {
  return query.filters.map((filter) => [filter.key, filter.value]);
}
