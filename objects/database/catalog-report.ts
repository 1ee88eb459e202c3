/**
 * What a block tells its namespace's catalog (objects/catalog/), and when. The DatabaseDO registers
 * at its first request (a block that predates the catalog, at its next one) and reports again a few
 * seconds after a write, from its alarm: one call per burst of writes, never a second write per
 * request. The schedule lives in `_meta` "catalog", so a report survives an eviction or a restart.
 */
import type { Block } from "../../shared/block";
import { quoteIdent } from "../../shared/query-sql";
import { type BlockEntry, catalogFor } from "../catalog/contract";

/** A write is reported at most this long after it happened. */
export const CATALOG_REPORT_MS = 5_000;
/** A report the catalog did not take is tried again this much later. */
const CATALOG_RETRY_MS = 30_000;

/** The block's side of its registration: when it registered, its latest write, when a report is due. */
export interface CatalogState {
  /** Set once the catalog took the first report; null until then. */
  createdAt: number | null;
  lastWriteAt: number | null;
  /** When the next report is due (ms since the epoch); null when the catalog is up to date. */
  due: number | null;
}

/**
 * One block's side of the catalog: when its next report is due (kept in `_meta`) and the report
 * itself. The actor asks `wakeAt` to ring its alarm by a time, and sends the report from there.
 */
export class CatalogReport {
  readonly #sql: SqlStorage;
  readonly #wakeAt: (at: number) => void;
  #state: CatalogState | null = null;

  constructor(sql: SqlStorage, wakeAt: (at: number) => void) {
    this.#sql = sql;
    this.#wakeAt = wakeAt;
  }

  /** When the next report is due; null when the catalog is up to date. */
  get due(): number | null {
    return this.#read().due;
  }

  /** The block was resolved by a request: one that never registered does so within CATALOG_REPORT_MS. */
  registerIfNew(now: number): void {
    if (this.#read().createdAt === null) this.#dueBy(now + CATALOG_REPORT_MS);
  }

  /** A write committed: the catalog hears of it within CATALOG_REPORT_MS. */
  noteWrite(now: number): void {
    this.#read().lastWriteAt = now;
    this.#dueBy(now + CATALOG_REPORT_MS);
  }

  /**
   * Sends the block's entry when a report is pending (an alarm ringing early for another reason
   * sends it a little sooner, which is harmless); one that fails is tried again later.
   */
  async send(env: Env, block: Block, seq: number, now: number): Promise<void> {
    const state = this.#read();
    if (state.due === null) return;
    const entry = catalogEntry(this.#sql, block, seq, state, now);
    // Cleared before the call: a write landing while it is in flight makes the next report due.
    state.due = null;
    writeCatalogState(this.#sql, state);
    try {
      await catalogFor(env, block.namespace).report(entry);
      if (state.createdAt === null) {
        state.createdAt = entry.createdAt;
        writeCatalogState(this.#sql, state);
      }
    } catch (err) {
      console.error(JSON.stringify({ msg: "catalog report failed", block: block.name, error: String(err) }));
      this.#dueBy(Date.now() + CATALOG_RETRY_MS);
    }
  }

  #read(): CatalogState {
    this.#state ??= readCatalogState(this.#sql);
    return this.#state;
  }

  /** Makes a report due by `at` (unless one is due sooner) and has the alarm ring for it. */
  #dueBy(at: number): void {
    const state = this.#read();
    if (state.due !== null && state.due <= at) return;
    state.due = at;
    writeCatalogState(this.#sql, state);
    this.#wakeAt(at);
  }
}

/** Reads the block's catalog state (all null for a block that never registered). */
function readCatalogState(sql: SqlStorage): CatalogState {
  const row = sql.exec<{ value: string }>(`SELECT value FROM _meta WHERE key = 'catalog'`).toArray()[0];
  return row ? (JSON.parse(row.value) as CatalogState) : { createdAt: null, lastWriteAt: null, due: null };
}

/** Stores the block's catalog state. */
function writeCatalogState(sql: SqlStorage, state: CatalogState): void {
  sql.exec(`INSERT OR REPLACE INTO _meta (key, value) VALUES ('catalog', ?)`, JSON.stringify(state));
}

/** The block's entry as of now: rows per table that exists in its store, and its database's size. */
function catalogEntry(sql: SqlStorage, block: Block, seq: number, state: CatalogState, now: number): BlockEntry {
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
