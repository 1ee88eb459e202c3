/**
 * The RateLimiterDO's SQLite: one row per policy used on this key (its algorithm state and the time
 * it is fully replenished), the answers kept for `requestId` retries, and the cleanup alarm's time.
 * Every method is synchronous, so a caller can read, decide and write with no await in between.
 * Parsed states are cached in memory; SQLite stays the source of truth across restarts.
 */

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS _limit_state (policy TEXT PRIMARY KEY, state TEXT NOT NULL, idle_at INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS _request (request_id TEXT PRIMARY KEY, decision TEXT NOT NULL, expires_at INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS _meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
`;

export interface StateWrite {
  policy: string;
  state: unknown;
  /** When the policy will be fully replenished (absolute ms): from then on the row can go. */
  idleAt: number;
}

export class LimitStore {
  readonly #storage: DurableObjectStorage;
  readonly #cache = new Map<string, unknown>();
  #ready = false;
  #alarmAt: number | null | undefined;

  constructor(storage: DurableObjectStorage) {
    this.#storage = storage;
  }

  /** The database for writing: creates the schema on first use. */
  get #sql(): SqlStorage {
    if (!this.#ready) {
      this.#storage.sql.exec(SCHEMA);
      this.#ready = true;
    }
    return this.#storage.sql;
  }

  /**
   * The database for reading, or null while the key has never been written: peeks and dry runs
   * on an unused key must not create tables that no alarm would ever clean up.
   */
  get #readable(): SqlStorage | null {
    if (!this.#ready) {
      const exists = this.#storage.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_limit_state'").toArray().length > 0;
      if (!exists) return null;
      this.#ready = true;
    }
    return this.#storage.sql;
  }

  /** The stored states of these policies (null where the policy has none). */
  readStates(policies: readonly string[]): unknown[] {
    return policies.map((policy) => {
      if (this.#cache.has(policy)) return this.#cache.get(policy);
      const row = this.#readable?.exec<{ state: string }>("SELECT state FROM _limit_state WHERE policy = ?", policy).toArray()[0];
      const state = row ? (JSON.parse(row.state) as unknown) : null;
      this.#cache.set(policy, state);
      return state;
    });
  }

  /** Writes states (and an answer to keep for a requestId) in one transaction. */
  write(states: readonly StateWrite[], remembered?: { requestId: string; decision: unknown; expiresAt: number }): void {
    const sql = this.#sql;
    const writeAll = () => {
      for (const { policy, state, idleAt } of states) {
        sql.exec("INSERT OR REPLACE INTO _limit_state (policy, state, idle_at) VALUES (?, ?, ?)", policy, JSON.stringify(state), idleAt);
      }
      if (remembered) {
        sql.exec("INSERT OR REPLACE INTO _request (request_id, decision, expires_at) VALUES (?, ?, ?)", remembered.requestId, JSON.stringify(remembered.decision), remembered.expiresAt);
      }
    };
    // One statement is atomic on its own; the common single-policy decision skips the savepoint.
    if (states.length === 1 && !remembered) writeAll();
    else this.#storage.transactionSync(writeAll);
    for (const { policy, state } of states) this.#cache.set(policy, state);
  }

  /** The answer stored for a requestId that has not expired, or null. */
  remembered(requestId: string, now: number): unknown {
    const row = this.#readable?.exec<{ decision: string }>("SELECT decision FROM _request WHERE request_id = ? AND expires_at > ?", requestId, now).toArray()[0];
    return row ? (JSON.parse(row.decision) as unknown) : null;
  }

  /** Forgets these policies' states, or every state and remembered answer when `policies` is null. */
  clear(policies: readonly string[] | null): number {
    const sql = this.#readable;
    if (sql === null) return 0;
    if (policies === null) {
      const cleared = sql.exec("DELETE FROM _limit_state").rowsWritten;
      sql.exec("DELETE FROM _request");
      this.#cache.clear();
      return cleared;
    }
    let cleared = 0;
    for (const policy of policies) {
      cleared += sql.exec("DELETE FROM _limit_state WHERE policy = ?", policy).rowsWritten;
      this.#cache.delete(policy);
    }
    return cleared;
  }

  /** Drops fully replenished states and expired answers; returns the next time anything expires, or null. */
  sweep(now: number): number | null {
    const sql = this.#readable;
    if (sql === null) return null;
    const idle = sql.exec<{ policy: string }>("DELETE FROM _limit_state WHERE idle_at <= ? RETURNING policy", now).toArray();
    for (const { policy } of idle) this.#cache.delete(policy);
    sql.exec("DELETE FROM _request WHERE expires_at <= ?", now);
    const next = sql.exec<{ next: number | null }>("SELECT min(t) AS next FROM (SELECT min(idle_at) AS t FROM _limit_state UNION ALL SELECT min(expires_at) FROM _request)").one().next;
    return next ?? null;
  }

  /** The cleanup alarm time recorded in SQL (null when none is scheduled). */
  get alarmAt(): number | null {
    if (this.#alarmAt === undefined) {
      this.#alarmAt = this.#readable?.exec<{ value: number }>("SELECT value FROM _meta WHERE key = 'alarm_at'").toArray()[0]?.value ?? null;
    }
    return this.#alarmAt;
  }

  set alarmAt(at: number | null) {
    if (at === null) this.#sql.exec("DELETE FROM _meta WHERE key = 'alarm_at'");
    else this.#sql.exec("INSERT OR REPLACE INTO _meta (key, value) VALUES ('alarm_at', ?)", at);
    this.#alarmAt = at;
  }

  /** Removes the whole database (the key is idle); the schema is recreated on next use. */
  async destroy(): Promise<void> {
    await this.#storage.deleteAlarm();
    await this.#storage.deleteAll();
    this.#cache.clear();
    this.#ready = false;
    this.#alarmAt = undefined;
  }
}
