/**
 * Compiles a parsed `Filter` to a parameterized SQLite expression. Column names come from the
 * AST, which the parser only fills with declared columns; every value is a bound parameter.
 * Semantics match shared/query-match.ts exactly (SQL three-valued logic, GLOB for `like`).
 */
import type { Filter } from "./query";

/** A SQL fragment and its bound parameters, in order. */
export interface SqlFragment {
  sql: string;
  params: (string | number | null)[];
}

const OPERATORS = { eq: "=", neq: "<>", gt: ">", gte: ">=", lt: "<", lte: "<=" } as const;

/** Quotes a declared identifier for SQLite. Declared names are letters, digits and _ (validated by the config). */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Compiles a filter to a WHERE-clause expression; `null` compiles to `1` (every row). */
export function filterToSql(filter: Filter | null, qualifier = ""): SqlFragment {
  const params: SqlFragment["params"] = [];
  const sql = filter === null ? "1" : compile(filter, params, qualifier ? `${quoteIdent(qualifier)}.` : "");
  return { sql, params };
}

function compile(filter: Filter, params: SqlFragment["params"], prefix: string): string {
  const col = (name: string): string => prefix + quoteIdent(name);
  let sql: string;
  switch (filter.kind) {
    case "group":
      sql = `(${filter.items.map((item) => compile(item, params, prefix)).join(filter.op === "and" ? " AND " : " OR ")})`;
      break;
    case "is":
      sql = filter.value === null ? `${col(filter.column)} IS NULL` : `${col(filter.column)} IS ${filter.value}`;
      break;
    case "in":
      // One bound JSON array, not one parameter per value: Durable Object SQLite binds at most 100.
      params.push(JSON.stringify(filter.values));
      sql = `${col(filter.column)} IN (SELECT value FROM json_each(?))`;
      break;
    case "contains": {
      // NULL for a NULL column (three-valued, like the other operators), else: no needle is missing.
      const column = col(filter.column);
      params.push(JSON.stringify(filter.values));
      sql =
        `(CASE WHEN ${column} IS NULL THEN NULL ELSE NOT EXISTS (SELECT 1 FROM json_each(?) AS n WHERE NOT EXISTS ` +
        `(SELECT 1 FROM json_each(${column}) AS h WHERE h.type = n.type AND h.value = n.value)) END)`;
      break;
    }
    case "compare": {
      const column = col(filter.column);
      if (filter.op === "like") {
        params.push(globPattern(String(filter.value)));
        sql = `${column} GLOB ?`;
      } else if (filter.op === "ilike") {
        params.push(likePattern(String(filter.value)));
        sql = `${column} LIKE ? ESCAPE '\\'`;
      } else {
        params.push(filter.value);
        sql = `${column} ${OPERATORS[filter.op]} ?`;
      }
      break;
    }
  }
  return filter.not ? `NOT (${sql})` : `(${sql})`;
}

/** `*` is the wildcard; everything else is literal (GLOB's `?` and `[` are escaped as classes). Case-sensitive. */
function globPattern(pattern: string): string {
  return pattern.replace(/[?[]/g, (ch) => `[${ch}]`);
}

/** `*` is the wildcard; `%`, `_` and `\` are literal. SQLite's LIKE folds ASCII case only. */
function likePattern(pattern: string): string {
  return pattern.replace(/[%_\\]/g, (ch) => `\\${ch}`).replaceAll("*", "%");
}
