/**
 * Lists with the query grammar: the caller's filter ANDed with the read rule's filter, compiled to
 * SQL, ordered with `id` as the tie-breaker, and paged by keyset (or by `offset`). The opaque cursor carries the
 * sort key values of the last row, so pages stay stable while rows are inserted and deleted.
 */
import { HttpError } from "../../shared/errors";
import { type Filter, type ListQuery, andFilters } from "../../shared/query";
import { filterToSql, quoteIdent } from "../../shared/query-sql";
import { decodeToken, encodeToken } from "../../shared/token-text";
import type { ListPage } from "./contract";
import { type TableRuntime, searchTable } from "./schema";

type Row = Record<string, unknown>;
type Stored = Record<string, SqlStorageValue>;

interface SortKey {
  /** SQL expression. */
  sql: string;
  /** Where the value is found on a fetched row. */
  field: string;
  direction: "asc" | "desc";
}

const RANK = "_rank";

/** Runs a list query: one synchronous read, so its rows and the block's seq agree. */
export function listRows(sql: SqlStorage, table: TableRuntime, query: ListQuery, ruleFilter: Filter | null): ListPage {
  if (query.search !== null && table.search.length === 0) {
    throw new HttpError(
      400,
      "SEARCH_NOT_AVAILABLE",
      `Table "${table.name}" has no full-text search columns; declare "search" in its config.`,
    );
  }
  const where = filterToSql(andFilters(ruleFilter, query.filter), "t");
  const fts = quoteIdent(searchTable(table.name));
  const from =
    query.search === null
      ? `FROM ${quoteIdent(table.name)} AS t`
      : `FROM ${quoteIdent(table.name)} AS t JOIN ${fts} ON ${fts}.rowid = t.rowid AND ${fts} MATCH ?`;
  const fromParams = query.search === null ? [] : [ftsQuery(query.search)];

  const keys: SortKey[] = query.order.map((term) => ({
    sql: `t.${quoteIdent(term.column)}`,
    field: term.column,
    direction: term.direction,
  }));
  if (query.search !== null && query.order.length === 0) keys.push({ sql: `${fts}.rank`, field: RANK, direction: "asc" });
  if (!query.order.some((term) => term.column === "id")) keys.push({ sql: "t.id", field: "id", direction: "asc" });
  const signature = `${table.name}|${keys.map((k) => `${k.field}.${k.direction}`).join(",")}`;

  const conditions = [where.sql];
  const params: (string | number | null)[] = [...fromParams, ...where.params];
  if (query.cursor !== null) {
    const after = cursorCondition(keys, decodeCursor(query.cursor, signature, keys.length));
    conditions.push(after.sql);
    params.push(...after.params);
  }
  const select = query.search === null ? "SELECT t.*" : `SELECT t.*, ${fts}.rank AS ${RANK}`;
  const orderBy = keys.map((k) => `${k.sql} ${k.direction.toUpperCase()}`).join(", ");
  // `offset` skips rows of the same order (the PostgREST layer's offset= and Range); the parser
  // never lets it meet a cursor, and nextCursor still points after the page's last row.
  const rows = execList(sql, `${select} ${from} WHERE ${conditions.join(" AND ")} ORDER BY ${orderBy} LIMIT ? OFFSET ?`, [
    ...params,
    query.limit + 1,
    query.offset ?? 0,
  ]);

  const more = rows.length > query.limit;
  const page = more ? rows.slice(0, query.limit) : rows;
  const last = page[page.length - 1];
  const result: ListPage = {
    items: page.map((stored) => project(table.decode(stored), query.select)),
    nextCursor:
      more && last
        ? encodeCursor(
            signature,
            keys.map((k) => last[k.field] ?? null),
          )
        : null,
  };
  if (query.count) {
    const total = execList(sql, `SELECT count(*) AS n ${from} WHERE ${where.sql}`, [...fromParams, ...where.params])[0]?.n;
    result.total = Number(total ?? 0);
  }
  return result;
}

/** Runs a read; SQLite's search and too-many-conditions failures become 400s naming what to change. */
export function execList(sql: SqlStorage, query: string, params: (string | number | null)[]): Stored[] {
  try {
    return sql.exec<Stored>(query, ...params).toArray();
  } catch (cause) {
    const message = String((cause as Error)?.message ?? cause);
    if (/fts5|MATCH/i.test(message))
      throw new HttpError(400, "INVALID_SEARCH", "The search text could not be understood; use plain words.", { cause });
    // Durable Object SQLite binds at most 100 values per statement and nests expressions at most 100 deep.
    if (/too many SQL variables|Expression tree is too large/i.test(message)) {
      throw new HttpError(
        400,
        "FILTER_TOO_COMPLEX",
        "The filter has too many conditions for one query; use fewer conditions or an in.(...) list.",
        { cause },
      );
    }
    throw cause;
  }
}

function project(row: Row, select: string[] | null): Row {
  if (select === null) return row;
  const out: Row = {};
  for (const column of select) out[column] = row[column];
  return out;
}

/** Plain words become quoted FTS5 terms (ANDed); a trailing `*` keeps prefix matching. No FTS syntax reaches SQLite. */
export function ftsQuery(text: string): string {
  // FTS5 reads a NUL as the end of the query (an unterminated string); control characters are separators.
  const terms = text
    .replace(/[\u0000-\u001f\u007f]/g, " ")
    .split(/\s+/)
    .filter(Boolean)
    .map((word) => {
      const prefix = word.endsWith("*") && word.length > 1;
      const bare = (prefix ? word.slice(0, -1) : word).replaceAll('"', '""');
      return `"${bare}"${prefix ? "*" : ""}`;
    });
  return terms.length > 0 ? terms.join(" ") : '""';
}

/** Rows strictly after the cursor in the sort order. NULL sorts first ascending and last descending, as in SQLite. */
function cursorCondition(keys: SortKey[], values: (string | number | null)[]): { sql: string; params: (string | number | null)[] } {
  const params: (string | number | null)[] = [];
  const alternatives: string[] = [];
  for (let i = 0; i < keys.length; i++) {
    const parts: string[] = [];
    for (let j = 0; j < i; j++) {
      parts.push(`${(keys[j] as SortKey).sql} IS ?`);
      params.push(values[j] ?? null);
    }
    const key = keys[i] as SortKey;
    const value = values[i] ?? null;
    if (key.direction === "asc") {
      if (value === null) parts.push(`${key.sql} IS NOT NULL`);
      else {
        parts.push(`${key.sql} > ?`);
        params.push(value);
      }
    } else if (value === null) parts.push("0");
    else {
      parts.push(`(${key.sql} < ? OR ${key.sql} IS NULL)`);
      params.push(value);
    }
    alternatives.push(`(${parts.join(" AND ")})`);
  }
  return { sql: `(${alternatives.join(" OR ")})`, params };
}

function encodeCursor(signature: string, values: SqlStorageValue[]): string {
  return encodeToken({ s: signature, v: values });
}

function decodeCursor(cursor: string, signature: string, length: number): (string | number | null)[] {
  const bad = (why: string): HttpError =>
    new HttpError(400, "INVALID_CURSOR", `The cursor ${why}; pass nextCursor from a previous page of the same query unchanged.`);
  let parsed: unknown;
  try {
    parsed = decodeToken(cursor);
  } catch {
    throw bad("is malformed");
  }
  const { s, v } = (parsed ?? {}) as { s?: unknown; v?: unknown };
  if (typeof s !== "string" || !Array.isArray(v)) throw bad("is malformed");
  if (s !== signature) throw bad("belongs to another table or order");
  if (v.length !== length || v.some((x) => x !== null && typeof x !== "string" && (typeof x !== "number" || !Number.isFinite(x))))
    throw bad("is malformed");
  return v as (string | number | null)[];
}
