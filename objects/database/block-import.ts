/**
 * Loads an export (block-export.ts) into an empty block, all or none. Rows are checked line by line
 * and staged on disk in `_import` as the stream arrives, so memory stays flat whatever the size;
 * only a whole stream (header, rows, and an end line whose count matches) is copied into the tables,
 * in one transaction, and the block's `seq` is set to the exported one. Anything else is a 400
 * naming the line, and nothing is kept.
 */
import type { ColumnConfig } from "../../shared/config";
import { drain } from "../../shared/drain";
import { HttpError } from "../../shared/errors";
import { quoteIdent } from "../../shared/query-sql";
import { EXPORT_FORMAT, EXPORT_VERSION, type ExportHeader } from "./block-export";
import type { ImportResult } from "./contract";
import { type TableRuntime, encodeValue } from "./schema";
import { validateInsert } from "./validate";

/** The block an import writes into. `table` prepares a declared table (and throws for any other). */
export interface ImportTarget {
  storage: DurableObjectStorage;
  table(name: string): TableRuntime;
}

/** The longest line accepted: a row is at most a write body (1 MiB) and JSON escaping can grow it. */
const MAX_LINE_CHARS = 4 * 1024 * 1024;
const SYSTEM = ["id", "createdAt", "updatedAt", "version"];

function invalid(line: number, detail: string): HttpError {
  return new HttpError(400, "INVALID_IMPORT", `Line ${line}: ${detail} Nothing was imported.`);
}

/** Splits a byte stream into lines, refusing one longer than MAX_LINE_CHARS. */
async function* lines(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
  const reader = body.getReader();
  let buffer = "";
  let count = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      try {
        buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      } catch {
        throw invalid(count + 1, "the stream is not valid UTF-8.");
      }
      let start = 0;
      for (let newline = buffer.indexOf("\n"); newline >= 0; newline = buffer.indexOf("\n", start)) {
        count++;
        yield buffer.slice(start, newline);
        start = newline + 1;
      }
      buffer = buffer.slice(start);
      if (buffer.length > MAX_LINE_CHARS) throw invalid(count + 1, `the line is longer than ${MAX_LINE_CHARS} characters.`);
      if (done) {
        if (buffer.length > 0) yield buffer;
        return;
      }
    }
  } finally {
    // A refused import stops reading: drain the rest, so the sender gets the answer, not a reset.
    await drain(reader);
  }
}

function parse(line: number, text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalid(line, "not a JSON value.");
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw invalid(line, "not a JSON object.");
  return value as Record<string, unknown>;
}

/** Checks the header against the target's config: each table declared there, each column of the same type. */
function readHeader(target: ImportTarget, text: string): { header: ExportHeader; tables: Map<string, TableRuntime> } {
  const header = parse(1, text) as Partial<ExportHeader>;
  if (header.format !== EXPORT_FORMAT || header.version !== EXPORT_VERSION) {
    throw invalid(1, `not an Actorbase export header (format "${EXPORT_FORMAT}", version ${EXPORT_VERSION}).`);
  }
  if (!Number.isSafeInteger(header.seq) || (header.seq as number) < 0) throw invalid(1, "seq must be a non-negative integer.");
  if (header.tables === null || typeof header.tables !== "object") throw invalid(1, "tables must be an object.");
  const tables = new Map<string, TableRuntime>();
  for (const [name, shape] of Object.entries(header.tables)) {
    let runtime: TableRuntime;
    try {
      runtime = target.table(name);
    } catch (err) {
      throw invalid(1, `table "${name.slice(0, 64)}" cannot be imported here: ${err instanceof HttpError ? err.detail : String(err)}`);
    }
    for (const [column, type] of Object.entries(shape?.columns ?? {})) {
      const here = runtime.config.columns[column]?.type;
      if (here !== type) {
        throw invalid(1, `column "${name}.${column.slice(0, 64)}" is ${String(type)} in the export but ${here ?? "not declared"} here.`);
      }
    }
    tables.set(name, runtime);
  }
  return { header: header as ExportHeader, tables };
}

/** A row line's values in stored form: the system columns, then the declared ones in config order. */
function storedRow(line: number, table: TableRuntime, row: unknown): { id: string; values: (string | number | null)[] } {
  if (row === null || typeof row !== "object" || Array.isArray(row)) throw invalid(line, "row must be an object.");
  const { createdAt, updatedAt, version, ...data } = row as Record<string, unknown>;
  if (!Number.isSafeInteger(createdAt) || !Number.isSafeInteger(updatedAt))
    throw invalid(line, "createdAt and updatedAt must be integers.");
  if (!Number.isSafeInteger(version) || (version as number) < 1) throw invalid(line, "version must be a positive integer.");
  let checked: ReturnType<typeof validateInsert>;
  try {
    checked = validateInsert(table, data);
  } catch (err) {
    throw invalid(line, err instanceof HttpError ? err.detail : String(err));
  }
  if (checked.id === null) throw invalid(line, "row has no id.");
  const declared = table.declared.map((column) => encodeValue(table.config.columns[column] as ColumnConfig, checked.values[column]));
  return { id: checked.id, values: [checked.id, createdAt as number, updatedAt as number, version as number, ...declared] };
}

/**
 * Reads the whole stream into `_import`, then copies it into the tables and sets the seq in one
 * transaction: `commitSeq(exported)` records the block's new seq inside it and returns it.
 */
export async function importStream(
  target: ImportTarget,
  body: ReadableStream<Uint8Array>,
  commitSeq: (exported: number) => number,
): Promise<ImportResult> {
  const sql = target.storage.sql;
  sql.exec(`DROP TABLE IF EXISTS _import`);
  sql.exec(`CREATE TABLE _import (tbl TEXT NOT NULL, id TEXT NOT NULL, vals TEXT NOT NULL, PRIMARY KEY (tbl, id)) WITHOUT ROWID`);
  try {
    let header: ExportHeader | null = null;
    let tables = new Map<string, TableRuntime>();
    const counts: Record<string, number> = {};
    let rows = 0;
    let ended = false;
    let line = 0;
    for await (const text of lines(body)) {
      line++;
      if (text.trim() === "") continue;
      if (ended) throw invalid(line, "there is more after the end line.");
      if (header === null) {
        ({ header, tables } = readHeader(target, text));
        continue;
      }
      if (header.seq === 0) throw invalid(line, "the header says seq 0, so the export holds no rows, but a row follows.");
      const entry = parse(line, text);
      if (entry.end === true) {
        if (entry.rows !== rows) throw invalid(line, `the end line counts ${String(entry.rows)} rows but the stream held ${rows}.`);
        ended = true;
        continue;
      }
      const table = typeof entry.table === "string" ? tables.get(entry.table) : undefined;
      if (!table) throw invalid(line, `table ${JSON.stringify(entry.table)?.slice(0, 64)} is not in the header.`);
      const { id, values } = storedRow(line, table, entry.row);
      try {
        sql.exec(`INSERT INTO _import (tbl, id, vals) VALUES (?, ?, ?)`, table.name, id, JSON.stringify(values));
      } catch (err) {
        if (!/UNIQUE constraint failed/.test(String(err))) throw err;
        throw invalid(line, `row "${id}" of "${table.name}" appears twice.`);
      }
      rows++;
      counts[table.name] = (counts[table.name] ?? 0) + 1;
    }
    if (header === null) throw invalid(1, "the stream is empty; an export starts with its header line.");
    if (!ended) throw invalid(line, "the stream ends without its end line: the export was truncated.");
    const exported = header.seq;
    let seq = exported;
    try {
      target.storage.transactionSync(() => {
        for (const table of tables.values()) {
          const columns = [...SYSTEM, ...table.declared];
          sql.exec(
            `INSERT INTO ${quoteIdent(table.name)} (${columns.map(quoteIdent).join(", ")}) ` +
              `SELECT ${columns.map((_, i) => `vals->>${i}`).join(", ")} FROM _import WHERE tbl = ? ORDER BY id`,
            table.name,
          );
        }
        seq = commitSeq(exported);
      });
    } catch (err) {
      // Two rows sharing a value of a column the target declares unique: nothing was kept.
      const unique = /UNIQUE constraint failed: ([^\s:]+)/.exec(String(err));
      if (!unique) throw err;
      throw invalid(line, `two rows share a value of ${unique[1]}, which is unique here.`);
    }
    return { rows, tables: counts, seq };
  } finally {
    sql.exec(`DROP TABLE IF EXISTS _import`);
  }
}

/** The first table of the block that holds a row, or null: an import goes into an empty block only. */
export function tableWithRows(sql: SqlStorage): string | null {
  const tables = sql.exec<{ name: string }>(`SELECT name FROM _tables`).toArray();
  for (const { name } of tables) {
    if (sql.exec(`SELECT 1 FROM ${quoteIdent(name)} LIMIT 1`).toArray().length > 0) return name;
  }
  return null;
}
