/**
 * `Prefer: resolution=ignore-duplicates` (PostgreSQL's ON CONFLICT DO NOTHING): the DatabaseDO's
 * insert has no "skip" mode, so the rows whose conflict value is already taken (or repeated within
 * the request) are left out before inserting the rest. Not one transaction with the insert: a row
 * written in between still answers 409 (docs/postgrest.md, "Upserts").
 */
import type { Caller } from "../../shared/caller";
import { unwrap } from "../../shared/rpc";
import type { DatabaseRpc } from "../../objects/database/contract";
import { quote } from "./filters";
import { nativeQueryString } from "./query";

/** Values per lookup: well under the 100 bound values a Durable Object's SQLite statement takes. */
const CHUNK = 50;
/** Characters of values per lookup (worst case percent-encoded), under the native filter length limit. */
const MAX_LOOKUP = 3_000;

type Key = string | number;

function keyOf(row: unknown, column: string): Key | null {
  if (typeof row !== "object" || row === null || Array.isArray(row)) return null;
  const value = (row as Record<string, unknown>)[column];
  return typeof value === "string" || (typeof value === "number" && Number.isFinite(value)) ? value : null;
}

/** Splits the values into lookups of at most CHUNK values and about MAX_LOOKUP characters (the native filter length limit is 4,096). */
function chunks(values: readonly Key[]): Key[][] {
  const out: Key[][] = [];
  let current: Key[] = [];
  let length = 0;
  for (const value of values) {
    const size = quote(String(value)).length * 3 + 1;
    if (current.length > 0 && (current.length === CHUNK || length + size > MAX_LOOKUP)) {
      out.push(current);
      current = [];
      length = 0;
    }
    current.push(value);
    length += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** The rows of `rows` whose `column` value no row of the table (that the caller can read) holds yet, first occurrence kept. */
export async function withoutDuplicates(
  actor: DatabaseRpc,
  caller: Caller,
  table: string,
  rows: readonly unknown[],
  column: string,
): Promise<unknown[]> {
  const seen = new Set<string>();
  const fresh = rows.filter((row) => {
    const key = keyOf(row, column);
    if (key === null) return true;
    const id = `${typeof key}:${key}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
  const values = fresh.map((row) => keyOf(row, column)).filter((key): key is Key => key !== null);
  const taken = new Set<string>();
  for (const chunk of chunks(values)) {
    const query = nativeQueryString([
      [column, `in.(${chunk.map((value) => quote(String(value))).join(",")})`],
      ["select", column],
      ["limit", String(CHUNK)],
    ]);
    const page = unwrap(await actor.list(caller, table, query));
    for (const row of page.items) taken.add(String(row[column]));
  }
  return fresh.filter((row) => {
    const key = keyOf(row, column);
    return key === null || !taken.has(String(key));
  });
}
