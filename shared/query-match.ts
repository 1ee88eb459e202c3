/**
 * Compiles a parsed `Filter` to an in-memory predicate over a decoded row, with the same meaning
 * as the SQL compilation (shared/query-sql.ts): SQL's three-valued logic (a comparison with NULL
 * is unknown, `not.` of unknown is unknown, only true matches), text compared by code point like
 * SQLite's BINARY collation, `like` case-sensitive, `ilike` folding ASCII case only.
 */
import type { Caller } from "./caller";
import type { Block } from "./block";
import type { ResolvedConfig, RuleOp } from "./config";
import { type Filter, type Scalar, type TableColumns, parseFilter } from "./query";
import { checkRule } from "./rules";

type Row = Record<string, unknown>;
type Truth = boolean | null;

/** Builds a predicate for a filter; `null` matches every row. */
export function filterToPredicate(filter: Filter | null): (row: Row) => boolean {
  if (filter === null) return () => true;
  const test = compile(filter);
  return (row) => test(row) === true;
}

function compile(filter: Filter): (row: Row) => Truth {
  const inner = compileInner(filter);
  if (!filter.not) return inner;
  return (row) => {
    const value = inner(row);
    return value === null ? null : !value;
  };
}

function compileInner(filter: Filter): (row: Row) => Truth {
  switch (filter.kind) {
    case "group": {
      const items = filter.items.map(compile);
      if (filter.op === "and") {
        return (row) => {
          let unknown = false;
          for (const item of items) {
            const value = item(row);
            if (value === false) return false;
            if (value === null) unknown = true;
          }
          return unknown ? null : true;
        };
      }
      return (row) => {
        let unknown = false;
        for (const item of items) {
          const value = item(row);
          if (value === true) return true;
          if (value === null) unknown = true;
        }
        return unknown ? null : false;
      };
    }
    case "is": {
      const { column, value } = filter;
      return (row) => storageValue(row[column]) === value;
    }
    case "in": {
      const { column, values } = filter;
      return (row) => {
        const value = storageValue(row[column]);
        if (value === null) return null;
        return values.some((v) => compareScalars(value, v) === 0);
      };
    }
    case "contains": {
      const { column, values } = filter;
      return (row) => {
        const haystack = row[column];
        if (haystack === null || haystack === undefined) return null;
        if (!Array.isArray(haystack)) return false;
        return values.every((needle) => haystack.some((item) => item === needle));
      };
    }
    case "compare": {
      const { column, op, value } = filter;
      if (op === "like" || op === "ilike") {
        const regex = patternRegex(String(value), op === "ilike");
        return (row) => {
          const text = row[column];
          if (text === null || text === undefined) return null;
          return regex.test(op === "ilike" ? foldAscii(String(text)) : String(text));
        };
      }
      return (row) => {
        const stored = storageValue(row[column]);
        if (stored === null) return null;
        const order = compareScalars(stored, value);
        switch (op) {
          case "eq":
            return order === 0;
          case "neq":
            return order !== 0;
          case "gt":
            return order > 0;
          case "gte":
            return order >= 0;
          case "lt":
            return order < 0;
          case "lte":
            return order <= 0;
        }
      };
    }
  }
}

/** A row value as SQLite holds it: booleans as 0/1, absent as NULL. */
function storageValue(value: unknown): Scalar | null {
  if (value === undefined || value === null) return null;
  if (typeof value === "boolean") return value ? 1 : 0;
  if (typeof value === "number" || typeof value === "string") return value;
  return JSON.stringify(value);
}

/** SQLite's order: numbers before text, numbers numerically, text by code point (BINARY collation on UTF-8). */
function compareScalars(a: Scalar, b: Scalar): number {
  if (typeof a === "number" && typeof b === "number") return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === "number") return -1;
  if (typeof b === "number") return 1;
  return compareCodePoints(a, b);
}

/** Compares strings by Unicode code point, which is UTF-8 byte order (JS `<` compares UTF-16 units). */
export function compareCodePoints(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs === ys) return x - y;
    return xs ? 1 : -1; // a surrogate starts a code point above U+FFFF, past any BMP unit
  }
  return a.length - b.length;
}

function foldAscii(text: string): string {
  return text.replace(/[A-Z]/g, (ch) => ch.toLowerCase());
}

function patternRegex(pattern: string, foldCase: boolean): RegExp {
  const source = (foldCase ? foldAscii(pattern) : pattern)
    .split("*")
    .map((part) => part.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&"))
    .join(".*");
  return new RegExp(`^${source}$`, "su");
}

// Keyed by the table's columns object first: actors of different namespaces share this isolate, and
// two namespaces may declare a table of the same name with other columns or types.
const filterCache = new WeakMap<TableColumns, Map<string, Filter | null>>();

/**
 * Decides whether a caller may `op` one row: evaluates the rule (service key bypasses, no rule
 * denies) and, when it answers with a filter, checks the row against that filter. The DatabaseDO
 * guards gets and writes with it; the RealtimeDO calls it per change event.
 */
export function ruleAllowsRow(
  config: ResolvedConfig,
  caller: Caller,
  block: Block,
  table: string,
  columns: TableColumns,
  op: RuleOp,
  row: Row,
  data?: Row,
): boolean {
  const decision = checkRule(config, caller, block, table, op, data === undefined ? { row } : { row, data });
  if (!decision.allowed) return false;
  if (decision.filter === null) return true;
  return filterToPredicate(cachedRuleFilter(decision.filter, table, columns))(row);
}

/** Parses a rule's filter string once per table shape (rules return few distinct strings; the cache is bounded). */
export function cachedRuleFilter(filter: string, table: string, columns: TableColumns): Filter | null {
  let byFilter = filterCache.get(columns);
  if (byFilter === undefined) {
    byFilter = new Map();
    filterCache.set(columns, byFilter);
  }
  const key = `${table}\u0000${filter}`;
  let parsed = byFilter.get(key);
  if (parsed === undefined) {
    parsed = parseFilter(filter, columns, { maxFilterDepth: 32, maxFilterLength: 65_536 });
    if (byFilter.size > 1_000) byFilter.clear();
    byFilter.set(key, parsed);
  }
  return parsed;
}
