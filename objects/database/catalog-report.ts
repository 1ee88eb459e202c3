/**
 * What a block tells its namespace's catalog (objects/catalog/), and when. The DatabaseDO registers
 * at its first request (a block that predates the catalog, at its next one) and reports again a few
 * seconds after a write, from its alarm: one call per burst of writes, never a second write per
 * request. The schedule lives in `_meta` "catalog", so a report survives an eviction or a restart.
 */
import type { Block } from "../../shared/block";
import { quoteIdent } from "../../shared/query-sql";
import type { BlockEntry } from "../catalog/contract";

/** A write is reported at most this long after it happened. */
export const CATALOG_REPORT_MS = 5_000;
/** A report the catalog did not take is tried again this much later. */
export const CATALOG_RETRY_MS = 30_000;

/** The block's side of its registration: when it registered, its latest write, when a report is due. */
export interface CatalogState {
  /** Set once the catalog took the first report; null until then. */
  createdAt: number | null;
  lastWriteAt: number | null;
  /** When the next report is due (ms since the epoch); null when the catalog is up to date. */
  due: number | null;
}

/** Reads the block's catalog state (all null for a block that never registered). */
export function readCatalogState(sql: SqlStorage): CatalogState {
  const row = sql.exec<{ value: string }>(`SELECT value FROM _meta WHERE key = 'catalog'`).toArray()[0];
  return row ? (JSON.parse(row.value) as CatalogState) : { createdAt: null, lastWriteAt: null, due: null };
}

/** Stores the block's catalog state. */
export function writeCatalogState(sql: SqlStorage, state: CatalogState): void {
  sql.exec(`INSERT OR REPLACE INTO _meta (key, value) VALUES ('catalog', ?)`, JSON.stringify(state));
}

/** The block's entry as of now: rows per table that exists in its store, and its database's size. */
export function catalogEntry(sql: SqlStorage, block: Block, seq: number, state: CatalogState, now: number): BlockEntry {
  const tables: BlockEntry["tables"] = {};
  for (const { name } of sql.exec<{ name: string }>(`SELECT name FROM _tables ORDER BY name`).toArray()) {
    tables[name] = { rows: sql.exec<{ rows: number }>(`SELECT count(*) AS rows FROM ${quoteIdent(name)}`).one().rows };
  }
  return {
    name: block.name,
    namespace: block.namespace,
    id: block.id,
    createdAt: state.createdAt ?? now,
    lastWriteAt: state.lastWriteAt,
    seq,
    tables,
    bytes: sql.databaseSize,
  };
}
