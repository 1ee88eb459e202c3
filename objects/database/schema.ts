/**
 * Tables from the config, created lazily and migrated additively. The applied shape of every table
 * is recorded in `_tables` and each change in `_migrations`, so a wake compares config to disk once
 * per table: new tables, columns, indexes and search columns are applied in one transaction;
 * dropping a column or changing its type is refused with an error naming the table and column.
 */
import type { ColumnConfig, ColumnType, TableConfig } from "../../shared/config";
import { HttpError } from "../../shared/errors";
import { type TableColumns, tableColumns } from "../../shared/query";
import { quoteIdent } from "../../shared/query-sql";

/** What `_tables` records about a table: enough to diff against the config. */
export interface AppliedTable {
  columns: Record<string, ColumnType>;
  indexes: string[];
  search: string[];
}

/** A table ready for queries: its columns, how rows are encoded, and its cached statements. */
export interface TableRuntime {
  name: string;
  config: TableConfig;
  /** Declared plus system columns, for the query grammar. */
  columns: TableColumns;
  /** Declared column names, in config order. */
  declared: string[];
  search: string[];
  insertSql: string;
  /** One INSERT of many rows from a bound JSON array of value arrays (column order as insertSql). */
  bulkInsertSql: string;
  updateSql: string;
  /**
   * One UPDATE of many rows from a bound JSON array of `[id, updatedAt, version, ...declared]`
   * value arrays (writes by filter); rows are matched by id.
   */
  bulkUpdateSql: string;
  /** A row as SQLite returns it, decoded to JSON types. */
  decode(stored: Record<string, SqlStorageValue>): Record<string, unknown>;
}

const SQL_TYPES: Record<ColumnType, string> = {
  string: "TEXT",
  text: "TEXT",
  integer: "INTEGER",
  number: "REAL",
  boolean: "INTEGER",
  json: "TEXT",
  array: "TEXT",
};

/** Creates the internal tables (names start with `_`); idempotent, run in the actor's constructor. */
export function createInternalTables(sql: SqlStorage): void {
  sql.exec(`CREATE TABLE IF NOT EXISTS _meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`);
  sql.exec(`CREATE TABLE IF NOT EXISTS _tables (name TEXT PRIMARY KEY, spec TEXT NOT NULL)`);
  sql.exec(
    `CREATE TABLE IF NOT EXISTS _migrations (id INTEGER PRIMARY KEY AUTOINCREMENT, tbl TEXT NOT NULL, change TEXT NOT NULL, appliedAt INTEGER NOT NULL)`,
  );
  sql.exec(
    `CREATE TABLE IF NOT EXISTS _changes (seq INTEGER PRIMARY KEY, tbl TEXT NOT NULL, op TEXT NOT NULL, id TEXT NOT NULL, row TEXT NOT NULL, old TEXT)`,
  );
  sql.exec(`CREATE TABLE IF NOT EXISTS _idempotency (key TEXT PRIMARY KEY, response TEXT NOT NULL, expiresAt INTEGER NOT NULL)`);
  sql.exec(`CREATE INDEX IF NOT EXISTS _idempotency_expires ON _idempotency (expiresAt)`);
}

/**
 * Brings one table in line with its config (create, or additive migration) and returns its
 * runtime. Throws 500 SCHEMA_CHANGE_REFUSED for a destructive change; nothing is applied then.
 */
export function prepareTable(storage: DurableObjectStorage, name: string, config: TableConfig): TableRuntime {
  const sql = storage.sql;
  const wanted = appliedShape(config);
  const row = sql.exec<{ spec: string }>(`SELECT spec FROM _tables WHERE name = ?`, name).toArray()[0];
  if (!row) {
    storage.transactionSync(() => {
      const columns = Object.entries(config.columns).map(([column, spec]) => `, ${quoteIdent(column)} ${SQL_TYPES[spec.type]}`);
      sql.exec(
        `CREATE TABLE ${quoteIdent(name)} (id TEXT PRIMARY KEY NOT NULL, createdAt INTEGER NOT NULL, updatedAt INTEGER NOT NULL, version INTEGER NOT NULL${columns.join("")})`,
      );
      for (const key of wanted.indexes) createIndex(sql, name, key);
      if (wanted.search.length > 0) createSearch(sql, name, wanted.search, false);
      record(sql, name, wanted, `create table with columns ${Object.keys(wanted.columns).join(", ")}`);
    });
    return runtime(name, config);
  }
  const applied = JSON.parse(row.spec) as AppliedTable;
  for (const [column, type] of Object.entries(applied.columns)) {
    const next = wanted.columns[column];
    if (next === undefined) {
      throw refused(
        `Table "${name}": column "${column}" exists in the database but is no longer in the config. Dropping or renaming a column is destructive and is never applied automatically; restore the column in actorbase.config.ts.`,
      );
    }
    if (next !== type && !(isText(next) && isText(type))) {
      throw refused(
        `Table "${name}": column "${column}" changes type from ${type} to ${next}. Type changes are destructive and are never applied automatically; add a new column instead.`,
      );
    }
  }
  const added = Object.keys(wanted.columns).filter((column) => applied.columns[column] === undefined);
  const newIndexes = wanted.indexes.filter((key) => !applied.indexes.includes(key));
  const oldIndexes = applied.indexes.filter((key) => !wanted.indexes.includes(key));
  const searchChanged = wanted.search.join(",") !== applied.search.join(",");
  if (added.length > 0 || newIndexes.length > 0 || oldIndexes.length > 0 || searchChanged) {
    storage.transactionSync(() => {
      const changes: string[] = [];
      for (const column of added) {
        const spec = config.columns[column] as ColumnConfig;
        const defaultSql =
          spec.default === undefined || spec.default === null ? "" : ` DEFAULT ${sqlLiteral(encodeValue(spec, spec.default))}`;
        sql.exec(`ALTER TABLE ${quoteIdent(name)} ADD COLUMN ${quoteIdent(column)} ${SQL_TYPES[spec.type]}${defaultSql}`);
        changes.push(`add column ${column}`);
      }
      for (const key of oldIndexes) {
        sql.exec(`DROP INDEX IF EXISTS ${quoteIdent(indexName(name, key))}`);
        changes.push(`drop index ${key}`);
      }
      for (const key of newIndexes) {
        try {
          createIndex(sql, name, key);
        } catch (cause) {
          if (!/UNIQUE constraint failed/.test(String((cause as Error)?.message ?? cause))) throw cause;
          const columns = (key.split(":")[1] ?? "")
            .split(",")
            .map((c) => `"${c}"`)
            .join(", ");
          throw refused(
            `Table "${name}": a unique index on column ${columns} cannot be added because stored rows share a value. Remove the duplicates first; nothing was applied.`,
            cause,
          );
        }
        changes.push(`add index ${key}`);
      }
      if (searchChanged) {
        dropSearch(sql, name);
        if (wanted.search.length > 0) createSearch(sql, name, wanted.search, true);
        changes.push(`search on ${wanted.search.join(", ") || "nothing"}`);
      }
      record(sql, name, wanted, changes.join("; "));
    });
  }
  return runtime(name, config);
}

function isText(type: ColumnType): boolean {
  return type === "string" || type === "text";
}

function refused(detail: string, cause?: unknown): HttpError {
  return new HttpError(500, "SCHEMA_CHANGE_REFUSED", detail, cause === undefined ? {} : { cause });
}

/** The shape of a table as `_tables` records it. Index keys: `u:col` (unique column), `i:a,b` or `ui:a,b`. */
export function appliedShape(config: TableConfig): AppliedTable {
  const columns: Record<string, ColumnType> = {};
  for (const [column, spec] of Object.entries(config.columns)) columns[column] = spec.type;
  const indexes = new Set<string>();
  for (const [column, spec] of Object.entries(config.columns)) if (spec.unique) indexes.add(`u:${column}`);
  for (const index of config.indexes ?? []) indexes.add(`${index.unique ? "ui" : "i"}:${index.columns.join(",")}`);
  return { columns, indexes: [...indexes], search: [...(config.search ?? [])] };
}

function record(sql: SqlStorage, name: string, shape: AppliedTable, change: string): void {
  sql.exec(
    `INSERT INTO _tables (name, spec) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET spec = excluded.spec`,
    name,
    JSON.stringify(shape),
  );
  sql.exec(`INSERT INTO _migrations (tbl, change, appliedAt) VALUES (?, ?, ?)`, name, change, Date.now());
}

function indexName(table: string, key: string): string {
  return `_ix_${table}_${key.replace(/[:,]/g, "_")}`;
}

function createIndex(sql: SqlStorage, table: string, key: string): void {
  const [kind = "i", list = ""] = key.split(":");
  const columns = list.split(",").map(quoteIdent).join(", ");
  const unique = kind === "u" || kind === "ui" ? "UNIQUE " : "";
  sql.exec(`CREATE ${unique}INDEX IF NOT EXISTS ${quoteIdent(indexName(table, key))} ON ${quoteIdent(table)} (${columns})`);
}

/** The FTS5 table behind `?search=` on a table: `_fts_<table>`, an external-content index kept by triggers. */
export function searchTable(table: string): string {
  return `_fts_${table}`;
}

function createSearch(sql: SqlStorage, table: string, columns: string[], rebuild: boolean): void {
  const fts = quoteIdent(searchTable(table));
  const t = quoteIdent(table);
  const list = columns.map(quoteIdent).join(", ");
  const values = (prefix: string): string => columns.map((c) => `${prefix}.${quoteIdent(c)}`).join(", ");
  sql.exec(
    `CREATE VIRTUAL TABLE ${fts} USING fts5(${list}, content=${quoteIdent(table)}, content_rowid='rowid', tokenize='unicode61 remove_diacritics 2')`,
  );
  sql.exec(
    `CREATE TRIGGER ${quoteIdent(`${searchTable(table)}_ai`)} AFTER INSERT ON ${t} BEGIN INSERT INTO ${fts} (rowid, ${list}) VALUES (new.rowid, ${values("new")}); END`,
  );
  sql.exec(
    `CREATE TRIGGER ${quoteIdent(`${searchTable(table)}_ad`)} AFTER DELETE ON ${t} BEGIN INSERT INTO ${fts} (${fts}, rowid, ${list}) VALUES ('delete', old.rowid, ${values("old")}); END`,
  );
  sql.exec(
    `CREATE TRIGGER ${quoteIdent(`${searchTable(table)}_au`)} AFTER UPDATE ON ${t} BEGIN ` +
      `INSERT INTO ${fts} (${fts}, rowid, ${list}) VALUES ('delete', old.rowid, ${values("old")}); ` +
      `INSERT INTO ${fts} (rowid, ${list}) VALUES (new.rowid, ${values("new")}); END`,
  );
  if (rebuild) sql.exec(`INSERT INTO ${fts} (${fts}) VALUES ('rebuild')`);
}

function dropSearch(sql: SqlStorage, table: string): void {
  for (const suffix of ["_ai", "_ad", "_au"]) sql.exec(`DROP TRIGGER IF EXISTS ${quoteIdent(searchTable(table) + suffix)}`);
  sql.exec(`DROP TABLE IF EXISTS ${quoteIdent(searchTable(table))}`);
}

function sqlLiteral(value: string | number | null): string {
  if (value === null) return "NULL";
  if (typeof value === "number") return String(value);
  return `'${value.replaceAll("'", "''")}'`;
}

/** A JSON value in the form SQLite stores for its column (booleans 0/1, JSON as text). */
export function encodeValue(spec: ColumnConfig, value: unknown): string | number | null {
  if (value === null || value === undefined) return null;
  switch (spec.type) {
    case "boolean":
      return value ? 1 : 0;
    case "json":
    case "array":
      return JSON.stringify(value);
    default:
      return value as string | number;
  }
}

function runtime(name: string, config: TableConfig): TableRuntime {
  const declared = Object.keys(config.columns);
  const all = ["id", "createdAt", "updatedAt", "version", ...declared];
  const specs = declared.map((column) => [column, config.columns[column] as ColumnConfig] as const);
  const jsonColumns = specs.filter(([, spec]) => spec.type === "json" || spec.type === "array").map(([c]) => c);
  const boolColumns = specs.filter(([, spec]) => spec.type === "boolean").map(([c]) => c);
  return {
    name,
    config,
    columns: tableColumns(config),
    declared,
    search: [...(config.search ?? [])],
    insertSql: `INSERT INTO ${quoteIdent(name)} (${all.map(quoteIdent).join(", ")}) VALUES (${all.map(() => "?").join(", ")})`,
    bulkInsertSql: `INSERT INTO ${quoteIdent(name)} (${all.map(quoteIdent).join(", ")}) SELECT ${all.map((_, i) => `value->>${i}`).join(", ")} FROM json_each(?)`,
    updateSql: `UPDATE ${quoteIdent(name)} SET ${all
      .slice(2)
      .map((c) => `${quoteIdent(c)} = ?`)
      .join(", ")} WHERE id = ?`,
    bulkUpdateSql: `UPDATE ${quoteIdent(name)} SET ${all
      .slice(2)
      .map((c, i) => `${quoteIdent(c)} = _rows.value->>${i + 1}`)
      .join(", ")} FROM json_each(?) AS _rows WHERE ${quoteIdent(name)}.id = _rows.value->>0`,
    decode(stored) {
      const row: Record<string, unknown> = {};
      for (const column of all) row[column] = stored[column] ?? null;
      for (const column of boolColumns) if (row[column] !== null) row[column] = row[column] === 1;
      for (const column of jsonColumns) if (row[column] !== null) row[column] = JSON.parse(row[column] as string);
      return row;
    },
  };
}

/** Whether a column holds unique values (its own flag, or a unique index on it alone): what an upsert may match on. */
export function isUniqueColumn(table: TableRuntime, column: string): boolean {
  if (table.config.columns[column]?.unique) return true;
  return (table.config.indexes ?? []).some((index) => index.unique && index.columns.length === 1 && index.columns[0] === column);
}
