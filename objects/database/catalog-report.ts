/**
 * What a block tells its namespace's catalog (objects/catalog/), and when. The DatabaseDO registers
 * right after its first request (a block that predates the catalog, after its next one) and
 * reports again a few seconds after a write, from its alarm: one call per burst of writes, never a second write per
 * request. The schedule lives in `_meta` "catalog", so a report survives an eviction or a restart.
 */
import type { Block } from "../../shared/block";
import type { Change } from "../../shared/change";
import { HttpError } from "../../shared/errors";
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
 * One block's side of the catalog: when its next report is due (kept in `_meta`, so a report
 * survives an eviction or a restart: it is cleared only once the catalog took it) and the report
 * itself. Rows per table are counted once per wake and then kept up to date from the writes' changes.
 * The actor asks `wakeAt` to ring its alarm by a time, and sends the report from there.
 */
export class CatalogReport {
  readonly #sql: SqlStorage;
  readonly #wakeAt: (at: number) => void;
  #state: CatalogState | null = null;
  /** Rows per table as of the latest write (null: not counted in this wake, or an import replaced them). */
  #rows: Map<string, number> | null = null;
  /** Counts writes, so a report sent while a write lands is followed by another. */
  #writes = 0;
  /** A registration is on its way (see needsRegistration). */
  #registering = false;

  constructor(sql: SqlStorage, wakeAt: (at: number) => void) {
    this.#sql = sql;
    this.#wakeAt = wakeAt;
  }

  /** When the next report is due; null when the catalog is up to date. */
  get due(): number | null {
    return this.#read().due;
  }

  /**
   * The block was resolved by a request: answers whether it still has to register (its first
   * request, or the next one of a block that predates the catalog). Then the report is due now and
   * the caller sends it right after the request, while the actor is awake anyway: no alarm rings
   * for it, so a burst of new blocks does not keep each one alive seconds longer.
   */
  needsRegistration(now: number): boolean {
    const state = this.#read();
    if (state.createdAt !== null || this.#registering) return false;
    this.#registering = true;
    // Kept in _meta: if the actor dies before the report goes out, the next request sends it.
    if (state.due === null || state.due > now) {
      state.due = now;
      writeCatalogState(this.#sql, state);
    }
    return true;
  }

  /**
   * A write committed `changes` (null: rows were replaced wholesale, as by an import): the catalog
   * hears of it within CATALOG_REPORT_MS.
   */
  noteWrite(now: number, changes: readonly Change[] | null): void {
    this.#writes++;
    const rows = this.#rows;
    if (changes === null) this.#rows = null;
    else if (rows !== null) {
      for (const change of changes) {
        const delta = change.op === "insert" ? 1 : change.op === "delete" ? -1 : 0;
        if (delta !== 0 && rows.has(change.table)) rows.set(change.table, (rows.get(change.table) as number) + delta);
      }
    }
    this.#read().lastWriteAt = now;
    this.#dueBy(now + CATALOG_REPORT_MS);
  }

  /**
   * Sends the block's entry when a report is pending (an alarm ringing early for another reason
   * sends it a little sooner, which is harmless). One that fails is tried again later; one for a
   * block whose namespace the config no longer declares (an HttpError from `block`) is dropped.
   */
  async send(env: Env, block: () => Block, seq: number, now: number): Promise<void> {
    const state = this.#read();
    if (state.due === null) return;
    const writes = this.#writes;
    let entry: BlockEntry;
    try {
      entry = this.#entry(block(), seq, state, now);
      await catalogFor(env, entry.namespace).report(entry);
    } catch (err) {
      console.error(JSON.stringify({ msg: "catalog report failed", error: String(err) }));
      state.due = err instanceof HttpError ? null : Date.now() + CATALOG_RETRY_MS;
      writeCatalogState(this.#sql, state);
      if (state.due !== null) this.#wakeAt(state.due);
      return;
    } finally {
      this.#registering = false;
    }
    state.createdAt ??= entry.createdAt;
    // A write that landed while the report was in flight is in no report yet: one more, soon.
    state.due = this.#writes === writes ? null : Date.now() + CATALOG_REPORT_MS;
    writeCatalogState(this.#sql, state);
    if (state.due !== null) this.#wakeAt(state.due);
  }

  #read(): CatalogState {
    this.#state ??= readCatalogState(this.#sql);
    return this.#state;
  }

  /** The block's entry as of now: rows per table that exists in its store, and its database's size. */
  #entry(block: Block, seq: number, state: CatalogState, now: number): BlockEntry {
    this.#rows ??= new Map();
    const tables: BlockEntry["tables"] = {};
    for (const { name } of this.#sql.exec<{ name: string }>(`SELECT name FROM _tables ORDER BY name`).toArray()) {
      let rows = this.#rows.get(name);
      if (rows === undefined) {
        rows = this.#sql.exec<{ rows: number }>(`SELECT count(*) AS rows FROM ${quoteIdent(name)}`).one().rows;
        this.#rows.set(name, rows);
      }
      tables[name] = { rows };
    }
    return {
      name: block.name,
      namespace: block.namespace,
      id: block.id,
      createdAt: state.createdAt ?? now,
      lastWriteAt: state.lastWriteAt,
      seq,
      tables,
      bytes: this.#sql.databaseSize,
    };
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
