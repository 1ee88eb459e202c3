import { DurableObject } from "cloudflare:workers";
import type { BlockEntry, CatalogQuery, CatalogRpc } from "./contract";

type StoredEntry = {
  name: string;
  namespace: string;
  id: string | null;
  created_at: number;
  last_write_at: number | null;
  seq: number;
  tables: string;
  bytes: number;
};

/**
 * One namespace's catalog of blocks. Each DatabaseDO reports itself when it is first used and then
 * at most every few seconds while it is written (objects/database/catalog-report.ts), so the
 * catalog costs a block one call per burst of writes, never one per request.
 */
export class CatalogDO extends DurableObject<Env> implements CatalogRpc {
  readonly #sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    this.#sql.exec(`CREATE TABLE IF NOT EXISTS _blocks (
      name TEXT PRIMARY KEY,
      namespace TEXT NOT NULL,
      id TEXT,
      created_at INTEGER NOT NULL,
      last_write_at INTEGER,
      seq INTEGER NOT NULL,
      tables TEXT NOT NULL,
      bytes INTEGER NOT NULL
    ) WITHOUT ROWID`);
  }

  /** Records a block's statistics; a report older than the one kept (a lower seq) changes nothing. */
  async report(entry: BlockEntry): Promise<void> {
    this.#sql.exec(
      `INSERT INTO _blocks (name, namespace, id, created_at, last_write_at, seq, tables, bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET last_write_at = excluded.last_write_at, seq = excluded.seq, tables = excluded.tables, bytes = excluded.bytes
       WHERE excluded.seq >= _blocks.seq`,
      entry.name,
      entry.namespace,
      entry.id,
      entry.createdAt,
      entry.lastWriteAt,
      entry.seq,
      JSON.stringify(entry.tables),
      entry.bytes,
    );
  }

  /** Up to `limit` blocks in name order after `after`, only names starting with `prefix` when given. */
  async list(query: CatalogQuery): Promise<BlockEntry[]> {
    const after = query.after ?? "";
    const prefix = query.prefix ?? "";
    // A prefix is a range on the primary key: [prefix, prefix + U+FFFF), no scan.
    const rows = this.#sql
      .exec<StoredEntry>(
        `SELECT * FROM _blocks WHERE name > ? AND name >= ? AND name < ? ORDER BY name LIMIT ?`,
        after,
        prefix,
        `${prefix}\uffff`,
        query.limit,
      )
      .toArray();
    return rows.map((row) => ({
      name: row.name,
      namespace: row.namespace,
      id: row.id,
      createdAt: row.created_at,
      lastWriteAt: row.last_write_at,
      seq: row.seq,
      tables: JSON.parse(row.tables) as BlockEntry["tables"],
      bytes: row.bytes,
    }));
  }
}
