/**
 * The RealtimeDO's own SQLite: what must outlive hibernation but does not fit (or belong) in a
 * socket attachment. The delivery cursor, each socket's subscriptions and presence memberships.
 * Rows of sockets that no longer exist are swept when the actor wakes (no ghosts after a restart).
 */

export type StoredSubscription = {
  conn: string;
  id: string;
  table: string;
  filter: string;
  /** Delivered as `changes` messages (see `SubscribeMessage.batch`). */
  batch: boolean;
};

export type StoredPresence = {
  channel: string;
  conn: string;
  state: string;
};

const SCHEMA = `
CREATE TABLE IF NOT EXISTS _realtime_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS _subscriptions (conn TEXT NOT NULL, id TEXT NOT NULL, tbl TEXT NOT NULL, filter TEXT NOT NULL, batch INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (conn, id));
CREATE TABLE IF NOT EXISTS _presence (channel TEXT NOT NULL, conn TEXT NOT NULL, state TEXT NOT NULL, PRIMARY KEY (channel, conn));
CREATE INDEX IF NOT EXISTS _presence_conn ON _presence (conn);
`;

/** Typed access to the actor's tables; every call is synchronous SQLite. */
export class RealtimeStore {
  readonly #sql: SqlStorage;
  readonly #storage: DurableObjectStorage;

  constructor(storage: DurableObjectStorage) {
    this.#storage = storage;
    this.#sql = storage.sql;
    this.#sql.exec(SCHEMA);
    // Actors created before subscriptions could ask for batches lack the column.
    const columns = this.#sql.exec<{ name: string }>("SELECT name FROM pragma_table_info('_subscriptions')").toArray();
    if (!columns.some((c) => c.name === "batch")) this.#sql.exec("ALTER TABLE _subscriptions ADD COLUMN batch INTEGER NOT NULL DEFAULT 0");
  }

  /** The delivery cursor (the last seq delivered to live subscriptions), 0 before any. */
  deliveredSeq(): number {
    return Number(this.#storage.kv.get<number>("delivered_seq") ?? 0);
  }

  /**
   * Persists the delivery cursor without holding outgoing frames behind the write (an ordinary
   * write would make every fan-out wait for it to be confirmed). Losing the last value in a crash
   * is harmless: a crash closes every socket, and new subscriptions start from the change log.
   * Across hibernation (no crash) the value is always written.
   */
  setDeliveredSeq(seq: number): void {
    void this.#storage.put("delivered_seq", seq, { allowUnconfirmed: true });
  }

  /** A persisted setting (block name, delivered seq), or null. */
  get(key: string): string | null {
    const rows = this.#sql.exec<{ value: string }>("SELECT value FROM _realtime_state WHERE key = ?", key).toArray();
    return rows[0]?.value ?? null;
  }

  set(key: string, value: string): void {
    this.#sql.exec(
      "INSERT INTO _realtime_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      key,
      value,
    );
  }

  subscriptions(): StoredSubscription[] {
    const rows = this.#sql
      .exec<Omit<StoredSubscription, "batch"> & { batch: number }>("SELECT conn, id, tbl AS 'table', filter, batch FROM _subscriptions")
      .toArray();
    return rows.map((row) => ({ ...row, batch: row.batch === 1 }));
  }

  addSubscription(sub: StoredSubscription): void {
    this.#sql.exec(
      "INSERT OR REPLACE INTO _subscriptions (conn, id, tbl, filter, batch) VALUES (?, ?, ?, ?, ?)",
      sub.conn,
      sub.id,
      sub.table,
      sub.filter,
      sub.batch ? 1 : 0,
    );
  }

  removeSubscription(conn: string, id: string): void {
    this.#sql.exec("DELETE FROM _subscriptions WHERE conn = ? AND id = ?", conn, id);
  }

  presence(): StoredPresence[] {
    return this.#sql.exec<StoredPresence>("SELECT channel, conn, state FROM _presence").toArray();
  }

  members(channel: string): StoredPresence[] {
    return this.#sql.exec<StoredPresence>("SELECT channel, conn, state FROM _presence WHERE channel = ?", channel).toArray();
  }

  setPresence(channel: string, conn: string, state: string): void {
    this.#sql.exec(
      "INSERT INTO _presence (channel, conn, state) VALUES (?, ?, ?) ON CONFLICT (channel, conn) DO UPDATE SET state = excluded.state",
      channel,
      conn,
      state,
    );
  }

  removePresence(channel: string, conn: string): void {
    this.#sql.exec("DELETE FROM _presence WHERE channel = ? AND conn = ?", channel, conn);
  }

  /** Forgets everything a socket held (it closed, errored or is gone after a restart). */
  forgetConnection(conn: string): void {
    this.#sql.exec("DELETE FROM _subscriptions WHERE conn = ?", conn);
    this.#sql.exec("DELETE FROM _presence WHERE conn = ?", conn);
  }
}
