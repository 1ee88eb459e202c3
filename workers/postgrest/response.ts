/**
 * Answers as PostgREST shapes them: bare JSON arrays (or one object for vnd.pgrst.object+json),
 * `Content-Range` on reads and counted writes, no body for `return=minimal`.
 */
import type { Row } from "../../shared/protocol";
import { PostgrestError } from "./errors";
import type { Representation } from "./headers";
import type { OrderTerm, SelectItem } from "./query";

/** Keeps the selected columns under their aliases (writes answer whole rows) and drops nulls when asked. */
export function shapeRows(rows: readonly Row[], select: readonly SelectItem[] | null, stripNulls: boolean): Row[] {
  return rows.map((row) => {
    const out: Row = {};
    if (select === null) Object.assign(out, row);
    else for (const item of select) out[item.alias] = row[item.column] ?? null;
    if (stripNulls) for (const key of Object.keys(out)) if (out[key] === null) delete out[key];
    return out;
  });
}

/** Sorts the rows a write answers by `order` (which rows are written never depends on it), NULLs placed as asked. */
export function sortRows(rows: Row[], order: readonly OrderTerm[]): Row[] {
  if (order.length === 0) return rows;
  return [...rows].sort((a, b) => {
    for (const term of order) {
      const x = a[term.column] ?? null;
      const y = b[term.column] ?? null;
      if (x === y) continue;
      if (x === null || y === null) return (x === null) === term.nullsFirst ? -1 : 1;
      const cmp = (x as string | number) < (y as string | number) ? -1 : (x as string | number) > (y as string | number) ? 1 : 0;
      if (cmp !== 0) return term.direction === "asc" ? cmp : -cmp;
    }
    return 0;
  });
}

/** `<from>-<to>/<total>` with `*` for an unknown total; an empty page is `*` slash the total. */
export function contentRange(offset: number, length: number, total: number | null): string {
  const of = total === null ? "*" : String(total);
  return length === 0 ? `*/${of}` : `${offset}-${offset + length - 1}/${of}`;
}

/** 406 `PGRST116`, as PostgREST answers `.single()` when 0 or 2+ rows match. */
export function notOneRow(count: number): PostgrestError {
  return new PostgrestError(406, "NOT_ACCEPTABLE", "PGRST116", "JSON object requested, multiple (or no) rows returned", {
    details: `The result contains ${count} rows`,
  });
}

/** The JSON answer for rows: an array, or the one row for an object request (406 otherwise). */
export function rowsResponse(
  rows: Row[],
  representation: Representation,
  status: number,
  headers: Record<string, string>,
  head = false,
): Response {
  if (representation.object && rows.length !== 1) throw notOneRow(rows.length);
  const type = representation.object ? "application/vnd.pgrst.object+json; charset=utf-8" : "application/json; charset=utf-8";
  const body = head ? null : JSON.stringify(representation.object ? rows[0] : rows);
  return new Response(body, { status, headers: { ...headers, "Content-Type": type } });
}

/** An answer without a body (`return=minimal`, or HEAD). */
export function emptyResponse(status: number, headers: Record<string, string>): Response {
  return new Response(null, { status, headers });
}
