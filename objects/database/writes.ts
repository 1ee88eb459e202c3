/**
 * The write operations, each run inside the caller's `transactionSync`: they check rules against
 * the row (and the data), validate, write, and record their change in the session; the actor
 * appends the session's changes to the log in the same transaction and publishes them after commit.
 */
import type { Block } from "../../shared/block";
import type { Caller } from "../../shared/caller";
import type { Change } from "../../shared/change";
import type { ColumnConfig, ResolvedConfig, RuleOp } from "../../shared/config";
import { HttpError } from "../../shared/errors";
import { ruleAllowsRow } from "../../shared/query-match";
import { quoteIdent } from "../../shared/query-sql";
import type { IdGenerator } from "./ids";
import { type TableRuntime, encodeValue } from "./schema";
import { applyPatch, validateInsert } from "./validate";

type Row = Record<string, unknown>;

/** One transaction's worth of writes: who writes, when, and the changes recorded so far. */
export interface WriteSession {
  sql: SqlStorage;
  config: ResolvedConfig;
  caller: Caller;
  block: Block;
  now: number;
  ids: IdGenerator;
  /** The block's seq before this transaction; change n gets baseSeq + n. */
  baseSeq: number;
  changes: Change[];
}

/** Reads one stored row, decoded, or null. */
export function readRow(sql: SqlStorage, table: TableRuntime, id: string): Row | null {
  const stored = sql.exec<Record<string, SqlStorageValue>>(`SELECT * FROM ${quoteIdent(table.name)} WHERE id = ?`, id).toArray()[0];
  return stored ? table.decode(stored) : null;
}

/** Records one change in the session; its seq follows the session's earlier changes. */
export function record(session: WriteSession, table: TableRuntime, op: Change["op"], row: Row, old?: Row): void {
  const change: Change = { seq: session.baseSeq + session.changes.length + 1, table: table.name, op, id: row.id as string, row };
  if (old !== undefined) change.old = old;
  session.changes.push(change);
}

/** The 403 for a row the rule of `op` refuses. */
export function denied(session: Pick<WriteSession, "block">, op: RuleOp, table: TableRuntime): HttpError {
  return new HttpError(
    403,
    "FORBIDDEN",
    `The rules of "${session.block.namespace}" do not allow you to ${op} this row of "${table.name}".`,
  );
}

function notFound(table: TableRuntime, id: string): HttpError {
  return new HttpError(404, "ROW_NOT_FOUND", `No row "${id.slice(0, 128)}" in "${table.name}".`);
}

/** The current row if it exists and the caller may read it; hidden rows are 404 like missing ones. */
export function readableRow(session: Pick<WriteSession, "sql" | "config" | "caller" | "block">, table: TableRuntime, id: string): Row {
  const row = readRow(session.sql, table, id);
  if (!row || !allows(session, table, "read", row)) throw notFound(table, id);
  return row;
}

/** Whether the caller may `op` this row (with `data` for inserts and updates): the rule and its filter. */
export function allows(
  session: Pick<WriteSession, "config" | "caller" | "block">,
  table: TableRuntime,
  op: RuleOp,
  row: Row,
  data?: Row,
): boolean {
  return ruleAllowsRow(session.config, session.caller, session.block, table.name, table.columns, op, row, data);
}

/** The declared columns of a row in storage form, in `table.declared` order. */
export function storedValues(table: TableRuntime, row: Row): (string | number | null)[] {
  return table.declared.map((column) => encodeValue(table.config.columns[column] as ColumnConfig, row[column]));
}

/** Runs a statement and turns SQLite's unique-constraint failure into 409 UNIQUE_CONFLICT. */
export function execWrite(session: WriteSession, table: TableRuntime, query: string, ...bindings: (string | number | null)[]): void {
  try {
    session.sql.exec(query, ...bindings);
  } catch (cause) {
    // SQLite says "UNIQUE constraint failed: notes.id: SQLITE_CONSTRAINT ..." (columns comma-separated, then a colon).
    const match = /UNIQUE constraint failed: ([^:]+)/.exec(String((cause as Error)?.message ?? cause));
    if (!match) throw cause;
    const columns = (match[1] ?? "").split(",").map((part) => part.trim().split(".").pop() ?? part);
    const errors = Object.fromEntries(columns.map((c) => [c, "already exists"]));
    throw new HttpError(
      409,
      "UNIQUE_CONFLICT",
      `A row of "${table.name}" already has this ${columns.join(", ")}; use another value or ?onConflict=${columns[0]} to update it.`,
      { errors, cause },
    );
  }
}

/** Inserts one row (or, with `onConflict`, updates the row holding the same value). */
export function insertOne(
  session: WriteSession,
  table: TableRuntime,
  data: unknown,
  onConflict: string | null,
): { row: Row; created: boolean } {
  if (onConflict !== null) {
    const { id: givenId, values } = validateInsert(table, data);
    const key = onConflict === "id" ? givenId : values[onConflict];
    if (key !== null && key !== undefined) {
      const storedKey = onConflict === "id" ? key : encodeValue(table.config.columns[onConflict] as ColumnConfig, key);
      const existing = session.sql
        .exec<{ id: string }>(`SELECT id FROM ${quoteIdent(table.name)} WHERE ${quoteIdent(onConflict)} = ?`, storedKey as string | number)
        .toArray()[0];
      if (existing) {
        const patch: Row = { ...(data as Row) };
        delete patch.id;
        return { row: upsertUpdate(session, table, existing.id, patch), created: false };
      }
    }
  }
  const row = newRow(session, table, data);
  execWrite(session, table, table.insertSql, ...insertValues(table, row));
  record(session, table, "insert", row);
  return { row, created: true };
}

/**
 * Inserts many rows at once: validates and rule-checks every row first (errors name the item via
 * `label`), then writes them with a few multi-row statements instead of one statement per row.
 */
export function insertMany(session: WriteSession, table: TableRuntime, items: readonly unknown[], label: (index: number) => string): Row[] {
  const rows = items.map((data, i) => {
    try {
      return newRow(session, table, data);
    } catch (err) {
      throw atIndex(err, label(i));
    }
  });
  for (let start = 0; start < rows.length; start += BULK_CHUNK) {
    const chunk = rows.slice(start, start + BULK_CHUNK);
    try {
      session.sql.exec(table.bulkInsertSql, JSON.stringify(chunk.map((row) => insertValues(table, row))));
    } catch (cause) {
      if (!/UNIQUE constraint failed/.test(String((cause as Error)?.message ?? cause))) throw cause;
      // The failed statement wrote nothing; insert one by one to name the conflicting item.
      chunk.forEach((row, j) => {
        try {
          execWrite(session, table, table.insertSql, ...insertValues(table, row));
        } catch (err) {
          throw atIndex(err, label(start + j));
        }
      });
    }
  }
  for (const row of rows) record(session, table, "insert", row);
  return rows;
}

/** Rows per multi-row INSERT: keeps each bound JSON document well under SQLite's 2 MB value limit. */
export const BULK_CHUNK = 500;

function newRow(session: WriteSession, table: TableRuntime, data: unknown): Row {
  const { id: givenId, values } = validateInsert(table, data);
  const row: Row = { id: givenId ?? session.ids.next(session.now), createdAt: session.now, updatedAt: session.now, version: 1, ...values };
  if (!allows(session, table, "insert", row, data as Row)) throw denied(session, "insert", table);
  return row;
}

function insertValues(table: TableRuntime, row: Row): (string | number | null)[] {
  return [row.id as string, row.createdAt as number, row.updatedAt as number, row.version as number, ...storedValues(table, row)];
}

/** Prefixes an error from one item of a multi-row write with where it happened (`items[3]`, `ops[7]`). */
export function atIndex(err: unknown, where: string): unknown {
  if (!(err instanceof HttpError)) return err;
  const errors = err.errors ? Object.fromEntries(Object.entries(err.errors).map(([k, v]) => [`${where}.${k}`, v])) : undefined;
  return new HttpError(err.status, err.code, `${where}: ${err.detail}`, { cause: err, ...(errors ? { errors } : {}) });
}

function upsertUpdate(session: WriteSession, table: TableRuntime, id: string, patch: Row): Row {
  const current = readRow(session.sql, table, id) as Row;
  if (!allows(session, table, "read", current) || !allows(session, table, "update", current, patch)) throw denied(session, "update", table);
  return writeUpdate(session, table, current, patch);
}

/** Applies a PATCH to a row the caller may read and update; `ifMatch` is the expected version. */
export function updateOne(session: WriteSession, table: TableRuntime, id: string, data: unknown, ifMatch: number | null): Row {
  const current = readableRow(session, table, id);
  checkVersion(current, ifMatch);
  if (!allows(session, table, "update", current, data as Row)) throw denied(session, "update", table);
  return writeUpdate(session, table, current, data);
}

function writeUpdate(session: WriteSession, table: TableRuntime, current: Row, data: unknown): Row {
  const patched = applyPatch(table, current, data);
  const row: Row = { ...patched, updatedAt: Math.max(session.now, current.updatedAt as number), version: (current.version as number) + 1 };
  if (!allows(session, table, "update", row, data as Row)) throw denied(session, "update", table);
  execWrite(session, table, table.updateSql, row.updatedAt as number, row.version as number, ...storedValues(table, row), row.id as string);
  record(session, table, "update", row, current);
  return row;
}

/** Deletes a row the caller may read and delete. */
export function deleteOne(session: WriteSession, table: TableRuntime, id: string, ifMatch: number | null): { id: string; deleted: true } {
  const current = readableRow(session, table, id);
  checkVersion(current, ifMatch);
  if (!allows(session, table, "delete", current)) throw denied(session, "delete", table);
  session.sql.exec(`DELETE FROM ${quoteIdent(table.name)} WHERE id = ?`, id);
  record(session, table, "delete", current, current);
  return { id, deleted: true };
}

function checkVersion(current: Row, ifMatch: number | null): void {
  if (ifMatch !== null && current.version !== ifMatch) {
    throw new HttpError(
      412,
      "VERSION_MISMATCH",
      `The row is at version ${current.version}, not ${ifMatch}; fetch it again and retry with the new version.`,
    );
  }
}

/** 413 for a request writing more rows than `max` (the config's `limits.maxRowsPerWrite`). */
export function checkRowCount(count: number, max: number): void {
  if (count > max) throw new HttpError(413, "TOO_MANY_ROWS", `${count} rows in one request; the limit is ${max}. Split the write.`);
}
