/**
 * The query grammar shared by REST lists, rules-as-filters and realtime subscriptions: one parser
 * to one AST (`Filter`), compiled two ways, to parameterized SQL (shared/query-sql.ts) and to an
 * in-memory predicate over a row (shared/query-match.ts). Identifiers come only from the declared
 * schema; values are typed by their column here, once, so both compilations judge them alike.
 */
import { type ColumnConfig, type ColumnType, type LimitsConfig, RESERVED_WORDS, type TableConfig } from "./config";
import { type ErrorCode, HttpError } from "./errors";

export type CompareOp = "eq" | "neq" | "gt" | "gte" | "lt" | "lte" | "like" | "ilike" | "in" | "is" | "cs";
export const COMPARE_OPS: readonly CompareOp[] = ["eq", "neq", "gt", "gte", "lt", "lte", "like", "ilike", "in", "is", "cs"];

/** A value in storage form: booleans are 0/1 (as SQLite stores them), strings and numbers as is. */
export type Scalar = string | number;
/** A `cs` needle: a JSON primitive. */
export type Needle = string | number | boolean;

export type Filter =
  | { kind: "compare"; column: string; op: Exclude<CompareOp, "in" | "is" | "cs">; value: Scalar; not: boolean }
  | { kind: "in"; column: string; values: Scalar[]; not: boolean }
  | { kind: "is"; column: string; value: null | 0 | 1; not: boolean }
  | { kind: "contains"; column: string; values: Needle[]; not: boolean }
  | { kind: "group"; op: "and" | "or"; items: Filter[]; not: boolean };

export interface OrderTerm {
  column: string;
  direction: "asc" | "desc";
}

/** A parsed list query. `filter` is null when no row filter was given. */
export interface ListQuery {
  filter: Filter | null;
  order: OrderTerm[];
  limit: number;
  cursor: string | null;
  /** Rows to skip before the page (`offset=`), absent when not given; never combined with `cursor`. */
  offset?: number;
  select: string[] | null;
  count: boolean;
  search: string | null;
}

/** The column types of a table, system columns included: what the grammar checks names and values against. */
export type TableColumns = Record<string, ColumnConfig>;

const SYSTEM_COLUMN_SPECS: TableColumns = {
  id: { type: "string" },
  createdAt: { type: "integer" },
  updatedAt: { type: "integer" },
  version: { type: "integer" },
};

/** The declared columns of a table plus the system columns `id createdAt updatedAt version`. */
export function tableColumns(table: TableConfig): TableColumns {
  return { ...SYSTEM_COLUMN_SPECS, ...table.columns };
}

const LIST_PARAMS = new Set(["select", "order", "limit", "cursor", "offset", "count", "search"]);
/** The largest `offset` a list takes: deeper pages are a keyset `cursor`'s job (SQLite still reads the skipped rows). */
export const MAX_OFFSET = 100_000;
const FILTER_LIMITS_DEFAULT = { maxFilterDepth: 8, maxFilterLength: 4_096 };
type FilterLimits = Pick<LimitsConfig, "maxFilterDepth" | "maxFilterLength">;

const badQuery = (detail: string, code: ErrorCode = "INVALID_QUERY"): HttpError => new HttpError(400, code, detail);

/**
 * Parses a list query string (`done=eq.false&order=priority.desc&limit=20`) against a table's
 * columns. Anything it cannot understand is a 400 naming the part at fault.
 */
export function parseListQuery(
  query: string,
  columns: TableColumns,
  limits: FilterLimits & Pick<LimitsConfig, "maxPageSize" | "defaultPageSize">,
): ListQuery {
  const raw = query.startsWith("?") ? query.slice(1) : query;
  // The cursor is ours, not the caller's filter: it grows with the sort key values (a long text column).
  const length = raw
    .split("&")
    .filter((part) => !part.startsWith("cursor="))
    .join("&").length;
  if (length > limits.maxFilterLength) {
    throw badQuery(
      `The query string is ${length} characters; the limit is ${limits.maxFilterLength}. Simplify the filter.`,
      "QUERY_TOO_LONG",
    );
  }
  const params = new URLSearchParams(raw);
  const single = (name: string): string | null => {
    const all = params.getAll(name);
    if (all.length > 1) throw badQuery(`"${name}" is given ${all.length} times; give it once.`);
    return all[0] ?? null;
  };
  const limitText = single("limit");
  let limit = limits.defaultPageSize;
  if (limitText !== null) {
    if (!/^\d{1,7}$/.test(limitText) || Number(limitText) < 1 || Number(limitText) > limits.maxPageSize) {
      throw badQuery(`limit must be an integer from 1 to ${limits.maxPageSize}, got "${limitText}".`, "INVALID_LIMIT");
    }
    limit = Number(limitText);
  }
  const countText = single("count");
  if (countText !== null && countText !== "exact") throw badQuery(`count supports "exact" only, got "${countText}".`);
  const search = single("search");
  if (search !== null && search.trim() === "") throw badQuery("search needs some words to look for.");
  const cursor = single("cursor");
  const offsetText = single("offset");
  const parsed: ListQuery = {
    filter: filterFromParams(params, columns, limits, LIST_PARAMS),
    order: parseOrder(single("order"), columns),
    limit,
    cursor,
    select: parseSelect(single("select"), columns),
    count: countText === "exact",
    search,
  };
  if (offsetText !== null) {
    if (!/^\d{1,7}$/.test(offsetText) || Number(offsetText) > MAX_OFFSET) {
      throw badQuery(`offset must be an integer from 0 to ${MAX_OFFSET}, got "${offsetText.slice(0, 64)}"; page deeper with cursor.`);
    }
    if (cursor !== null) throw badQuery("offset and cursor both say where a page starts; give one of them.");
    parsed.offset = Number(offsetText);
  }
  return parsed;
}

/**
 * Parses the query string of a write by filter (`PATCH`/`DELETE .../tables/<table>?<filters>`):
 * filters only, at least one. List parameters (`order`, `limit`, `offset`, ...) are 400: the
 * write applies to every matching row, so a page of them would be a surprise.
 */
export function parseWriteFilter(query: string, columns: TableColumns, limits: FilterLimits): Filter {
  const raw = query.startsWith("?") ? query.slice(1) : query;
  if (raw.length > limits.maxFilterLength) {
    throw badQuery(
      `The query string is ${raw.length} characters; the limit is ${limits.maxFilterLength}. Simplify the filter.`,
      "QUERY_TOO_LONG",
    );
  }
  const params = new URLSearchParams(raw);
  const listParam = [...params.keys()].find((key) => LIST_PARAMS.has(key));
  if (listParam !== undefined) {
    throw badQuery(
      `"${listParam}" does not apply to PATCH and DELETE by filter: they change every matching row. Give filters only, like done=eq.true.`,
    );
  }
  const filter = filterFromParams(params, columns, limits, LIST_PARAMS);
  if (filter === null) {
    throw badQuery(
      "PATCH and DELETE by filter need at least one filter; to change every row, say so with a filter such as id=not.is.null.",
    );
  }
  return filter;
}

/**
 * Parses a filter-only query string (a rule's filter, a realtime subscription's `filter`). List
 * parameters such as `order` or `limit` are refused here: a filter selects rows, nothing else.
 */
export function parseFilter(query: string, columns: TableColumns, limits: FilterLimits = FILTER_LIMITS_DEFAULT): Filter | null {
  const raw = query.startsWith("?") ? query.slice(1) : query;
  if (raw.length > limits.maxFilterLength) {
    throw badQuery(`The filter is ${raw.length} characters; the limit is ${limits.maxFilterLength}.`, "QUERY_TOO_LONG");
  }
  return filterFromParams(new URLSearchParams(raw), columns, limits, new Set());
}

function filterFromParams(params: URLSearchParams, columns: TableColumns, limits: FilterLimits, listParams: Set<string>): Filter | null {
  const items: Filter[] = [];
  for (const [key, value] of params) {
    if (listParams.has(key)) continue;
    const group = /^(not\.)?(and|or)$/.exec(key);
    if (group) {
      if (!value.startsWith("(") || !value.endsWith(")"))
        throw badQuery(`${key} needs a parenthesized list, like ${key}=(priority.gt.3,done.eq.true).`);
      items.push(parseGroup(group[2] as "and" | "or", value.slice(1, -1), Boolean(group[1]), columns, 1, limits.maxFilterDepth));
      continue;
    }
    items.push(parseLeaf(key, value, columns));
  }
  if (items.length === 0) return null;
  if (items.length === 1) return items[0] as Filter;
  return { kind: "group", op: "and", items, not: false };
}

function parseGroup(op: "and" | "or", body: string, not: boolean, columns: TableColumns, depth: number, maxDepth: number): Filter {
  if (depth > maxDepth) throw badQuery(`Filters nest at most ${maxDepth} levels deep.`, "FILTER_TOO_DEEP");
  const parts = splitTopLevel(body);
  if (parts.length === 0 || parts.some((p) => p === "")) throw badQuery(`${op}=(...) needs a comma list of conditions, got "(${body})".`);
  const items = parts.map((part) => {
    const nested = /^(not\.)?(and|or)\((.*)\)$/s.exec(part);
    if (nested) return parseGroup(nested[2] as "and" | "or", nested[3] as string, Boolean(nested[1]), columns, depth + 1, maxDepth);
    const dot = part.indexOf(".");
    if (dot === -1) throw badQuery(`"${part}" is not a condition; write column.op.value, like priority.gte.3.`);
    return parseLeaf(part.slice(0, dot), part.slice(dot + 1), columns);
  });
  return { kind: "group", op, items, not };
}

/**
 * Splits on commas outside parentheses, brackets and double quotes (backslash escapes inside
 * quotes); with `braces`, outside braces too (PostgreSQL array literals, for the PostgREST routes).
 */
export function splitTopLevel(text: string, braces = false): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === "\\") i++;
      else if (ch === '"') quoted = false;
    } else if (ch === '"') quoted = true;
    else if (ch === "(" || ch === "[" || (braces && ch === "{")) depth++;
    else if (ch === ")" || ch === "]" || (braces && ch === "}")) depth--;
    else if (ch === "," && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
    if (depth < 0) throw badQuery(`Unbalanced parentheses in "${text}".`);
  }
  if (depth !== 0 || quoted) throw badQuery(`Unbalanced parentheses or quotes in "${text}".`);
  if (text.length > 0) parts.push(text.slice(start));
  return parts;
}

function checkColumn(name: string, columns: TableColumns): ColumnConfig {
  if ((RESERVED_WORDS as readonly string[]).includes(name)) {
    throw badQuery(`"${name}" is a reserved word of the query grammar and cannot be used as a filter.`, "RESERVED_WORD");
  }
  const spec = Object.hasOwn(columns, name) ? columns[name] : undefined;
  if (!spec)
    throw badQuery(`Unknown column "${name.slice(0, 64)}"; filter on one of ${Object.keys(columns).join(", ")}.`, "UNKNOWN_COLUMN");
  return spec;
}

function parseLeaf(column: string, expression: string, columns: TableColumns): Filter {
  const spec = checkColumn(column, columns);
  let rest = expression;
  let not = false;
  if (rest.startsWith("not.")) {
    not = true;
    rest = rest.slice(4);
  }
  const dot = rest.indexOf(".");
  const op = (dot === -1 ? rest : rest.slice(0, dot)) as CompareOp;
  if (dot === -1 || !COMPARE_OPS.includes(op)) {
    throw badQuery(`The filter on "${column}" needs an operator (${COMPARE_OPS.join(", ")}), like ${column}=eq.value.`, "MISSING_OPERATOR");
  }
  const text = rest.slice(dot + 1);
  const type = spec.type;
  const unsupported = (): HttpError => badQuery(`Operator "${op}" does not apply to ${type} column "${column}".`, "UNSUPPORTED_OPERATOR");
  switch (op) {
    case "is": {
      if (text === "null") return { kind: "is", column, value: null, not };
      if (type === "boolean" && (text === "true" || text === "false")) return { kind: "is", column, value: text === "true" ? 1 : 0, not };
      throw badQuery(`is. takes null${type === "boolean" ? ", true or false" : ""} on "${column}", got "${text}".`);
    }
    case "cs": {
      if (type !== "array") throw unsupported();
      let needles: unknown;
      try {
        needles = JSON.parse(text);
      } catch {
        needles = undefined;
      }
      if (
        !Array.isArray(needles) ||
        needles.some((n) => !["string", "number", "boolean"].includes(typeof n) || (typeof n === "number" && !Number.isFinite(n)))
      ) {
        throw badQuery(`cs. takes a JSON array of strings, numbers or booleans on "${column}", like ${column}=cs.["urgent"].`);
      }
      return { kind: "contains", column, values: needles as Needle[], not };
    }
    case "in": {
      if (type === "json" || type === "array") throw unsupported();
      if (!text.startsWith("(") || !text.endsWith(")"))
        throw badQuery(`in. takes a parenthesized list on "${column}", like ${column}=in.(a,b).`);
      const parts = splitTopLevel(text.slice(1, -1));
      if (parts.length === 0) throw badQuery(`in. needs at least one value on "${column}".`);
      return { kind: "in", column, values: parts.map((p) => parseScalar(unquote(p), type, column)), not };
    }
    case "like":
    case "ilike":
      if (type !== "string" && type !== "text") throw unsupported();
      return { kind: "compare", column, op, value: unquote(text), not };
    default:
      if (type === "json" || type === "array") throw unsupported();
      return { kind: "compare", column, op, value: parseScalar(unquote(text), type, column), not };
  }
}

function unquote(text: string): string {
  if (text.length >= 2 && text.startsWith('"') && text.endsWith('"')) return text.slice(1, -1).replace(/\\(.)/gs, "$1");
  return text;
}

function parseScalar(text: string, type: ColumnType, column: string): Scalar {
  if (type === "boolean") {
    if (text === "true") return 1;
    if (text === "false") return 0;
    throw badQuery(`"${column}" is a boolean; compare it with true or false, got "${text.slice(0, 64)}".`, "INVALID_VALUE");
  }
  if (type === "integer" || type === "number") {
    const value = Number(text);
    if (text.trim() === "" || !Number.isFinite(value))
      throw badQuery(`"${column}" is a number; got "${text.slice(0, 64)}".`, "INVALID_VALUE");
    return value;
  }
  return text;
}

function parseOrder(text: string | null, columns: TableColumns): OrderTerm[] {
  if (text === null) return [];
  const terms: OrderTerm[] = [];
  for (const part of text.split(",")) {
    const [column = "", direction = "asc", ...extra] = part.split(".");
    const spec = checkColumn(column, columns);
    if (extra.length > 0 || (direction !== "asc" && direction !== "desc")) {
      throw badQuery(`order terms are column or column.asc or column.desc, got "${part.slice(0, 64)}".`);
    }
    if (spec.type === "json" || spec.type === "array") throw badQuery(`Cannot order by ${spec.type} column "${column}".`);
    if (terms.some((t) => t.column === column)) throw badQuery(`order names "${column}" twice.`);
    terms.push({ column, direction });
  }
  return terms;
}

function parseSelect(text: string | null, columns: TableColumns): string[] | null {
  if (text === null) return null;
  const names = text.split(",").map((name) => name.trim());
  for (const name of names) checkColumn(name, columns);
  return [...new Set(names)];
}

/** ANDs filters together, skipping nulls (for example a read rule's filter and the caller's own). */
export function andFilters(...filters: (Filter | null)[]): Filter | null {
  const items = filters.filter((f): f is Filter => f !== null);
  if (items.length === 0) return null;
  if (items.length === 1) return items[0] as Filter;
  return { kind: "group", op: "and", items, not: false };
}
