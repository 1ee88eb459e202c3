/**
 * Who sees which row: a subscription's own filter and the caller's read rule, both evaluated in
 * memory from the row itself (no SQL per subscriber per event). Filters are compiled once, with
 * the shared query grammar, and cached by text.
 */
import config from "../../actorbase.config";
import type { Block } from "../../shared/block";
import type { Caller } from "../../shared/caller";
import { HttpError } from "../../shared/errors";
import type { Row } from "../../shared/protocol";
import { checkRule } from "../../shared/rules";

export type RowPredicate = (row: Row) => boolean;

const ALL: RowPredicate = () => true;
const compiled = new Map<string, RowPredicate>();

/** Compiles a filter in the query grammar to a row predicate (400 `INVALID_FILTER` when malformed). */
export function compileFilter(block: Block, table: string, filter: string): RowPredicate {
  if (filter === "") return ALL;
  const key = `${block.namespace}\u0000${table}\u0000${filter}`;
  let predicate = compiled.get(key);
  if (!predicate) {
    predicate = compileWithGrammar(block, table, filter);
    if (compiled.size > 10_000) compiled.clear();
    compiled.set(key, predicate);
  }
  return predicate;
}

// Replaced by shared/query.ts when the DatabaseDO branch lands.
function compileWithGrammar(_block: Block, _table: string, filter: string): RowPredicate {
  throw new HttpError(400, "INVALID_FILTER", `Filter "${filter}" cannot be compiled yet.`);
}

/** True when the caller's read rule lets it see this row (rule filters are checked on the row). */
export function canRead(caller: Caller, block: Block, table: string, row: Row): boolean {
  const decision = checkRule(config, caller, block, table, "read", { row });
  if (!decision.allowed) return false;
  if (decision.filter === null) return true;
  try {
    return compileFilter(block, table, decision.filter)(row);
  } catch {
    return false;
  }
}
