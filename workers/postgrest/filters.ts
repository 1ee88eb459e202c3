/**
 * PostgREST filters to the native grammar (shared/query.ts), which already reads most of them
 * verbatim: `col=op.value` with `eq neq gt gte lt lte like ilike in is cs`, `not.`, and nested
 * `or=(...)`/`and=(...)`. What differs is rewritten here: `like` wildcards (`%` as well as `*`),
 * `is.unknown`, boolean spellings, `cs.{a,b}` arrays, and top-level values that look quoted (literal
 * in PostgREST). Full-text operators become the native `search` (docs/postgrest.md, "Full-text").
 * Column names are checked here so unknown ones answer PostgreSQL's `42703`.
 */
import { splitTopLevel } from "../../shared/query";
import type { ColumnConfig } from "../../shared/config";
import { notSupported, parseError, unknownColumn } from "./errors";

/** The table a query runs against: its name, columns (system ones included) and search columns. */
export interface TableShape {
  name: string;
  columns: Record<string, ColumnConfig>;
  search: readonly string[];
}

/** One translated filter: a native `key=value` pair, or words for the native `search`. */
export type Translated = { key: string; value: string } | { search: string };

const NATIVE_OPS = new Set(["eq", "neq", "gt", "gte", "lt", "lte", "like", "ilike", "in", "is", "cs"]);
const KNOWN_UNSUPPORTED = new Set(["match", "imatch", "isdistinct", "cd", "ov", "sl", "sr", "nxl", "nxr", "adj"]);
const FTS = /^(pl|ph|w)?fts(?:\(([A-Za-z0-9_-]{1,63})\))?$/;
const MAX_DEPTH = 16;

/** The column a filter or list names: quotes dropped, checked against the table (`42703` otherwise). */
export function columnOf(raw: string, table: TableShape): string {
  const name = raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw;
  if (name.includes("->")) throw notSupported(`JSON paths such as "${name.slice(0, 64)}" are not supported; filter on a whole column.`);
  if (!Object.hasOwn(table.columns, name)) throw unknownColumn(table.name, name);
  return name;
}

/** Translates one top-level filter parameter (`title=like.*plan*`, `or=(...)`, `not.and=(...)`). */
export function translateParam(key: string, value: string, table: TableShape): Translated {
  const group = /^(not\.)?(and|or)$/.exec(key);
  if (group) {
    if (!value.startsWith("(") || !value.endsWith(")")) throw parseError(`${key} takes a parenthesized list, like ${key}=(a.eq.1,b.gt.2).`);
    return { key, value: `(${translateGroup(value.slice(1, -1), table, 1)})` };
  }
  if (key.includes(".")) {
    throw notSupported(`"${key.slice(0, 64)}" filters an embedded resource; resource embedding is not supported.`, "PGRST108");
  }
  const column = columnOf(key, table);
  return translateLeaf(column, value, table, true);
}

function translateGroup(body: string, table: TableShape, depth: number): string {
  if (depth > MAX_DEPTH) throw parseError(`Logic trees nest at most ${MAX_DEPTH} levels deep.`, "FILTER_TOO_DEEP");
  const parts = splitTopLevel(body, true).map((part) => part.trim());
  if (parts.length === 0 || parts.some((part) => part === ""))
    throw parseError(`"(${body.slice(0, 64)})" needs a comma list of conditions.`);
  return parts
    .map((part) => {
      const nested = /^(not\.)?(and|or)\((.*)\)$/s.exec(part);
      if (nested) return `${nested[1] ?? ""}${nested[2]}(${translateGroup(nested[3] as string, table, depth + 1)})`;
      const dot = part.indexOf(".");
      if (dot === -1) throw parseError(`"${part.slice(0, 64)}" is not a condition; write column.op.value, like priority.gte.3.`);
      const column = columnOf(part.slice(0, dot), table);
      const leaf = translateLeaf(column, part.slice(dot + 1), table, false);
      if ("search" in leaf) throw notSupported("Full-text operators (fts, plfts, phfts, wfts) are supported outside or=/and= only.");
      return `${column}.${leaf.value}`;
    })
    .join(",");
}

function translateLeaf(column: string, expression: string, table: TableShape, top: boolean): Translated {
  const not = expression.startsWith("not.");
  const rest = not ? expression.slice(4) : expression;
  const dot = rest.indexOf(".");
  const op = dot === -1 ? rest : rest.slice(0, dot);
  const value = rest.slice(dot + 1);
  if (dot === -1) throw parseError(`The filter on "${column}" needs an operator, like ${column}=eq.value.`, "MISSING_OPERATOR");
  const fts = FTS.exec(op);
  if (fts) {
    if (not) throw notSupported("not. on a full-text operator is not supported.");
    if (!table.search.includes(column)) {
      throw parseError(
        `"${column}" is not a full-text search column of ${table.name}; use one of: ${table.search.join(", ") || "(none declared)"}.`,
        "SEARCH_NOT_AVAILABLE",
      );
    }
    return { search: searchWords(fts[1] ?? "", value) };
  }
  if (/^(like|ilike)\((any|all)\)$/.test(op)) throw notSupported(`${op} is not supported; use or=(...) of like filters.`);
  if (KNOWN_UNSUPPORTED.has(op)) throw notSupported(`The operator "${op}" is not supported.`);
  if (!NATIVE_OPS.has(op)) throw parseError(`Unknown operator "${op.slice(0, 32)}" on "${column}".`, "UNSUPPORTED_OPERATOR");
  const prefix = not ? "not." : "";
  if (op === "is") {
    const lower = value.toLowerCase();
    const target = lower === "unknown" ? "null" : lower;
    if (!["null", "true", "false"].includes(target))
      throw parseError(`is. takes null, true, false or unknown; got "${value.slice(0, 64)}".`);
    return { key: column, value: `${prefix}is.${target}` };
  }
  if (op === "in") return { key: column, value: `${prefix}in.${value}` };
  if (op === "cs") return { key: column, value: `${prefix}cs.${containsNeedles(value)}` };
  const type = table.columns[column]?.type;
  const rewrite = (text: string): string => {
    if (op === "like" || op === "ilike") return likePattern(text);
    if (type === "boolean") return booleanText(text);
    return text;
  };
  return { key: column, value: `${prefix}${op}.${top ? topValue(rewrite(value)) : treeValue(value, rewrite)}` };
}

/** PostgreSQL LIKE to the native pattern: `%` and `*` match anything; `\` escapes; `_` stays literal (documented). */
function likePattern(pattern: string): string {
  return pattern.replace(/\\(.)|%/gs, (_match, escaped: string | undefined) => (escaped === undefined ? "*" : escaped));
}

/** PostgreSQL's spellings of a boolean; others pass through for the native parser to refuse. */
function booleanText(text: string): string {
  const lower = text.toLowerCase();
  if (["t", "true", "y", "yes", "on", "1"].includes(lower)) return "true";
  if (["f", "false", "n", "no", "off", "0"].includes(lower)) return "false";
  return text;
}

/** A top-level value is literal in PostgREST; the native grammar unquotes `"..."`, so quote one that looks quoted. */
function topValue(text: string): string {
  return text.length >= 2 && text.startsWith('"') && text.endsWith('"') ? quote(text) : text;
}

/** In a logic tree both grammars unquote `"..."`: rewrite the inner text and quote it again. */
function treeValue(text: string, rewrite: (text: string) => string): string {
  if (text.length >= 2 && text.startsWith('"') && text.endsWith('"')) return quote(rewrite(text.slice(1, -1).replace(/\\(.)/gs, "$1")));
  return rewrite(text);
}

/** A value as the native grammar's double-quoted literal (for values holding `,` `(` `)` or quotes). */
export function quote(text: string): string {
  return `"${text.replace(/["\\]/g, (ch) => `\\${ch}`)}"`;
}

/** `cs.{a,b}` (a PostgreSQL array literal) becomes the native JSON array of strings; JSON passes through. */
function containsNeedles(value: string): string {
  if (!value.startsWith("{") || !value.endsWith("}")) return value;
  const inner = value.slice(1, -1);
  const items =
    inner === ""
      ? []
      : splitTopLevel(inner, true).map((item) => (item.startsWith('"') ? item.slice(1, -1).replace(/\\(.)/gs, "$1") : item));
  return JSON.stringify(items);
}

/**
 * The words of a full-text query for the native `search` (plain words, all required, trailing `*`
 * for a prefix). OR and NOT have no native equivalent: 400 rather than a silently wider answer.
 */
function searchWords(kind: string, text: string): string {
  let words = text;
  if (kind === "") {
    if (/[|!]/.test(text)) throw notSupported("| (OR) and ! (NOT) in a full-text query are not supported; all words are required.");
    words = text
      .replace(/:\*/g, "*")
      .replace(/:[A-Da-d]+/g, "")
      .replace(/<\d*-?>|[&()']/g, " ");
  } else if (kind === "w") {
    if (/(^|\s)-\S/.test(text) || /(^|\s)or(\s|$)/i.test(text)) {
      throw notSupported("or and -word in a websearch query are not supported; all words are required.");
    }
    words = text.replace(/"/g, " ");
  } else {
    words = text.replace(/\*/g, " ");
  }
  const terms = words.split(/\s+/).filter((word) => word !== "");
  if (terms.length === 0) throw parseError("A full-text filter needs some words to look for.", "INVALID_SEARCH");
  return terms.join(" ");
}
