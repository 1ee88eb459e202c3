/**
 * Writes by filter (`PATCH` and `DELETE .../tables/<table>?<filters>`), run inside the caller's
 * `transactionSync` like the writes of writes.ts: the rules' filters (read AND the op's) are ANDed
 * into the caller's filter in SQL, so a row the caller may not change is never touched or counted;
 * the matching rows are read once (at most the write limit, else 413), checked and patched in
 * memory, written with one statement per 500 rows, and recorded as one change each.
 */
import type { RuleOp } from "../../shared/config";
import { HttpError } from "../../shared/errors";
import { type Filter, andFilters } from "../../shared/query";
import { cachedRuleFilter } from "../../shared/query-match";
import { filterToSql, quoteIdent } from "../../shared/query-sql";
import { checkRule } from "../../shared/rules";
import { execList } from "./reads";
import type { ExpectRows, WriteOptions } from "./contract";
import type { TableRuntime } from "./schema";
import { checkPatchShape, applyPatch } from "./validate";
import { jsonRuns } from "./json-runs";
import { BULK_CHUNK, type WriteSession, allows, denied, execWrite, record, storedValues } from "./writes";

type Row = Record<string, unknown>;

/** The answer of a write by filter: the rows after the update (or as they were when deleted), in id order. */
export interface WhereResult {
  items: Row[];
  count: number;
}

/** Updates every matching row the caller may read and update with one PATCH body, all or none. */
export function updateWhere(
  session: WriteSession,
  table: TableRuntime,
  filter: Filter,
  data: unknown,
  maxRows: number,
  expect: ExpectRows | null = null,
): WhereResult {
  checkPatchShape(table, data);
  const patch = data as Row;
  const current = matchingRows(session, table, filter, "update", patch, maxRows, expect);
  const rows = current.map((old) => {
    let patched: Row;
    try {
      patched = applyPatch(table, old, patch);
    } catch (err) {
      throw forRow(err, old.id as string);
    }
    const row: Row = { ...patched, updatedAt: Math.max(session.now, old.updatedAt as number), version: (old.version as number) + 1 };
    // As for one row: the update must leave the row inside the caller's update rule.
    if (!allows(session, table, "update", row, patch)) throw forRow(denied(session, "update", table), old.id as string);
    return row;
  });
  const parts = rows.map((row) => JSON.stringify([row.id, row.updatedAt, row.version, ...storedValues(table, row)]));
  for (const run of jsonRuns(parts)) {
    try {
      execWrite(session, table, table.bulkUpdateSql, `[${run.join(",")}]`);
    } catch (err) {
      if (!(err instanceof HttpError) || err.code !== "UNIQUE_CONFLICT") throw err;
      const columns = Object.keys(err.errors ?? {}).join(", ");
      throw new HttpError(
        409,
        "UNIQUE_CONFLICT",
        `The update would give ${rows.length > 1 ? "these rows" : "this row"} of "${table.name}" a ${columns} another row already has; nothing was changed.`,
        { cause: err, ...(err.errors ? { errors: err.errors } : {}) },
      );
    }
  }
  rows.forEach((row, i) => {
    record(session, table, "update", row, current[i]);
  });
  return { items: rows, count: rows.length };
}

/** Deletes every matching row the caller may read and delete, all or none; answers the rows as they were. */
export function deleteWhere(
  session: WriteSession,
  table: TableRuntime,
  filter: Filter,
  maxRows: number,
  expect: ExpectRows | null = null,
): WhereResult {
  const rows = matchingRows(session, table, filter, "delete", undefined, maxRows, expect);
  for (let start = 0; start < rows.length; start += BULK_CHUNK) {
    const ids = rows.slice(start, start + BULK_CHUNK).map((row) => row.id);
    session.sql.exec(`DELETE FROM ${quoteIdent(table.name)} WHERE id IN (SELECT value FROM json_each(?))`, JSON.stringify(ids));
  }
  for (const row of rows) record(session, table, "delete", row, row);
  return { items: rows, count: rows.length };
}

/**
 * The rows matching the filter and the caller's read and `op` rules, in id order: the rules'
 * filters in the SQL, then each row through the rules as a single-row write checks it (a rule may
 * look at the row itself). More than `maxRows` matches is 413, and a count outside `expect` 406,
 * before anything is written.
 */
function matchingRows(
  session: WriteSession,
  table: TableRuntime,
  filter: Filter,
  op: "update" | "delete",
  data: Row | undefined,
  maxRows: number,
  expect: ExpectRows | null,
): Row[] {
  const where = filterToSql(andFilters(ruleFilter(session, table, "read"), ruleFilter(session, table, op, data), filter));
  const from = `FROM ${quoteIdent(table.name)} WHERE ${where.sql}`;
  const stored = execList(session.sql, `SELECT * ${from} ORDER BY id LIMIT ?`, [...where.params, maxRows + 1]);
  if (stored.length > maxRows) {
    const total = Number(execList(session.sql, `SELECT count(*) AS n ${from}`, where.params)[0]?.n ?? 0);
    throw new HttpError(
      413,
      "TOO_MANY_ROWS",
      `${total} rows of "${table.name}" match; a write by filter changes at most ${maxRows}. Narrow the filter (for example by id ranges) and repeat.`,
    );
  }
  const rows = stored
    .map((row) => table.decode(row))
    .filter((row) => allows(session, table, "read", row) && allows(session, table, op, row, data));
  if (
    expect !== null &&
    ((expect.exactly !== undefined && rows.length !== expect.exactly) || rows.length > (expect.atMost ?? rows.length))
  ) {
    const wanted = expect.exactly !== undefined ? `exactly ${expect.exactly}` : `at most ${expect.atMost}`;
    throw new HttpError(
      406,
      "NOT_ACCEPTABLE",
      `${rows.length} rows of "${table.name}" match; ${wanted} may be changed. Nothing was changed.`,
      {
        errors: { rows: String(rows.length) },
      },
    );
  }
  return rows;
}

/** The filter the rule of `op` adds (null: none); a rule that denies outright is 401 or 403, as in the Worker. */
function ruleFilter(session: WriteSession, table: TableRuntime, op: RuleOp, data?: Row): Filter | null {
  const { config, caller, block } = session;
  const decision = checkRule(config, caller, block, table.name, op, data === undefined ? {} : { data });
  if (!decision.allowed) {
    if (caller.kind === "anonymous") throw new HttpError(401, "AUTH_REQUIRED", `Sign in to ${op} "${table.name}" in "${block.name}".`);
    throw new HttpError(
      403,
      "FORBIDDEN",
      `The rules of "${block.namespace}" do not allow you to ${op} "${table.name}" in "${block.name}".`,
    );
  }
  if (decision.filter === null) return null;
  try {
    return cachedRuleFilter(decision.filter, table.name, table.columns);
  } catch (cause) {
    throw new HttpError(
      500,
      "RULE_FILTER_INVALID",
      `The ${op} rule of "${table.name}" returned a filter that does not parse: ${(cause as Error).message}`,
      { cause },
    );
  }
}

/** Names the row an error of one row's update came from; the field errors stay keyed by column. */
function forRow(err: unknown, id: string): unknown {
  if (!(err instanceof HttpError)) return err;
  return new HttpError(err.status, err.code, `Row "${id.slice(0, 128)}": ${err.detail}`, {
    cause: err,
    ...(err.errors ? { errors: err.errors } : {}),
  });
}

/** If-Match names one row's version; a write by filter says the same with a `version=eq.<n>` filter. */
export function refuseIfMatch(options: WriteOptions): void {
  if (options.ifMatch !== undefined && options.ifMatch !== null) {
    throw new HttpError(
      400,
      "INVALID_IF_MATCH",
      "If-Match applies to the PATCH or DELETE of one row; for a write by filter, add version=eq.<n> to the filters instead.",
    );
  }
}
