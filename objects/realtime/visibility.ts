/**
 * Who sees which row: a subscription's own filter and the caller's read rule, both evaluated in
 * memory from the row itself (no SQL per subscriber per event). A subscription's filter is parsed
 * and compiled once, with the grammar lists use (shared/query.ts), and cached by its text.
 */
import config from "../../actorbase.config";
import type { Block } from "../../shared/block";
import type { Caller } from "../../shared/caller";
import { HttpError } from "../../shared/errors";
import type { Row } from "../../shared/protocol";
import { type TableColumns, parseFilter, tableColumns } from "../../shared/query";
import { filterToPredicate, ruleAllowsRow } from "../../shared/query-match";

export type RowPredicate = (row: Row) => boolean;

const compiled = new Map<string, RowPredicate>();
const columnsByTable = new Map<string, TableColumns>();

function columnsOf(block: Block, table: string): TableColumns {
  const key = `${block.namespace}\u0000${table}`;
  let columns = columnsByTable.get(key);
  if (!columns) {
    const tables = config.namespaces[block.namespace]?.tables;
    const tableConfig = tables && Object.hasOwn(tables, table) ? tables[table] : undefined;
    if (!tableConfig) throw new HttpError(404, "TABLE_NOT_FOUND", `Table "${table}" is not declared in namespace "${block.namespace}".`);
    columns = tableColumns(tableConfig);
    columnsByTable.set(key, columns);
  }
  return columns;
}

/** Compiles a subscription filter in the query grammar to a row predicate (400 when malformed). */
export function compileFilter(block: Block, table: string, filter: string): RowPredicate {
  const key = `${block.namespace}\u0000${table}\u0000${filter}`;
  let predicate = compiled.get(key);
  if (!predicate) {
    predicate = filterToPredicate(parseFilter(filter, columnsOf(block, table), config.limits));
    if (compiled.size > 10_000) compiled.clear();
    compiled.set(key, predicate);
  }
  return predicate;
}

/** True when the caller's read rule lets it see this row (a rule's filter is checked on the row). */
export function canRead(caller: Caller, block: Block, table: string, row: Row): boolean {
  try {
    return ruleAllowsRow(config, caller, block, table, columnsOf(block, table), "read", row);
  } catch {
    return false;
  }
}
