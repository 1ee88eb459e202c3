/**
 * The block's ordered change log (`_changes`): every committed write appends its changes in the
 * same transaction, numbered by the block's `seq` (strictly increasing, no gaps). A window of the
 * latest `changeLogSize` changes is kept for `since` replays; the newest change is never trimmed,
 * so the counter survives restarts as `max(seq)`.
 */
import type { Change, ChangesPage } from "../../shared/change";
import { RUN_CHARS, jsonRuns } from "./json-runs";

/**
 * Reads the block's latest committed seq (0 before the first write): the newest change, or the seq
 * an import set (`_meta` "seq") when no change has been logged since.
 */
export function latestSeq(sql: SqlStorage): number {
  const row = sql
    .exec<{ seq: number | null; imported: string | null }>(
      `SELECT (SELECT max(seq) FROM _changes) AS seq, (SELECT value FROM _meta WHERE key = 'seq') AS imported`,
    )
    .one();
  return Math.max(row.seq ?? 0, Number(row.imported ?? 0));
}

/** Records the seq an import brought, inside the import's transaction: the log restarts after it. */
export function setImportedSeq(sql: SqlStorage, seq: number): void {
  sql.exec(`INSERT OR REPLACE INTO _meta (key, value) VALUES ('seq', ?)`, String(seq));
}

/**
 * Whether commits are handed off to the block's RealtimeDO (`_meta` "listening", kept by the
 * DatabaseDO). A new block starts with "no"; one that predates the flag and has commits hands off
 * once to find out.
 */
export function readListening(sql: SqlStorage, seq: number): boolean {
  const row = sql.exec<{ value: string }>(`SELECT value FROM _meta WHERE key = 'listening'`).toArray()[0];
  if (row !== undefined) return row.value === "1";
  if (seq > 0) return true;
  writeListening(sql, false);
  return false;
}

export function writeListening(sql: SqlStorage, listening: boolean): void {
  sql.exec(`INSERT OR REPLACE INTO _meta (key, value) VALUES ('listening', ?)`, listening ? "1" : "0");
}

/** Appends changes inside the caller's transaction. Their `seq` must already be assigned. */
export function appendChanges(sql: SqlStorage, changes: readonly Change[]): void {
  if (changes.length <= 4) {
    for (const change of changes) appendOne(sql, change);
    return;
  }
  // Many changes (bulk writes): a few statements over a bound JSON array instead of one per change,
  // cut by size too (jsonRuns); a change too big to share a document goes in on its own.
  const parts = changes.map((c) => JSON.stringify([c.seq, c.table, c.op, c.id, c.row, c.old ?? null]));
  let index = 0;
  for (const run of jsonRuns(parts)) {
    if (run.length === 1 && (run[0] as string).length > RUN_CHARS) appendOne(sql, changes[index] as Change);
    else {
      sql.exec(
        `INSERT INTO _changes (seq, tbl, op, id, row, old) SELECT value->>0, value->>1, value->>2, value->>3, value->4, ` +
          `CASE WHEN json_type(value, '$[5]') = 'null' THEN NULL ELSE value->5 END FROM json_each(?)`,
        `[${run.join(",")}]`,
      );
    }
    index += run.length;
  }
}

function appendOne(sql: SqlStorage, change: Change): void {
  sql.exec(
    `INSERT INTO _changes (seq, tbl, op, id, row, old) VALUES (?, ?, ?, ?, ?, ?)`,
    change.seq,
    change.table,
    change.op,
    change.id,
    JSON.stringify(change.row),
    change.old === undefined ? null : JSON.stringify(change.old),
  );
}

/** Drops changes older than the window; cheap enough to run every few hundred writes. */
export function trimChanges(sql: SqlStorage, seq: number, keep: number): void {
  sql.exec(`DELETE FROM _changes WHERE seq <= ?`, seq - keep);
}

/** Changes with seq > since (optionally one table), in seq order, at most `limit`. */
export function readChanges(sql: SqlStorage, seq: number, since: number, table: string | null, limit: number): ChangesPage {
  const oldest = sql.exec<{ seq: number | null }>(`SELECT min(seq) AS seq FROM _changes`).one().seq ?? seq + 1;
  const rows =
    table === null
      ? sql.exec<StoredChange>(`SELECT seq, tbl, op, id, row, old FROM _changes WHERE seq > ? ORDER BY seq LIMIT ?`, since, limit).toArray()
      : sql
          .exec<StoredChange>(
            `SELECT seq, tbl, op, id, row, old FROM _changes WHERE seq > ? AND tbl = ? ORDER BY seq LIMIT ?`,
            since,
            table,
            limit,
          )
          .toArray();
  return { changes: rows.map(decodeChange), seq, oldestSeq: oldest };
}

type StoredChange = { seq: number; tbl: string; op: string; id: string; row: string; old: string | null };

function decodeChange(stored: StoredChange): Change {
  const change: Change = {
    seq: stored.seq,
    table: stored.tbl,
    op: stored.op as Change["op"],
    id: stored.id,
    row: JSON.parse(stored.row) as Record<string, unknown>,
  };
  if (stored.old !== null) change.old = JSON.parse(stored.old) as Record<string, unknown>;
  return change;
}
