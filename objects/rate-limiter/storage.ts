/**
 * The RateLimiterDO's SQLite: one row per policy used on this key (its algorithm state and the time
 * it is fully replenished), the answers kept for `requestId` retries, and the cleanup alarm's time.
 * Every method is synchronous, so a caller can read, decide and write with no await in between.
 * The exact states live in memory; SQLite holds, per policy, a state at least as spent (written
 * ahead with a reserve, see reserve.ts), which is what a restarted actor starts from.
 */
import { idleAt } from "./decision";
import type { Policy } from "./policy";
import { stateToWrite } from "./reserve";

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS _limit_state (policy TEXT PRIMARY KEY, state TEXT NOT NULL, idle_at INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS _request (request_id TEXT PRIMARY KEY, decision TEXT NOT NULL, expires_at INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS _meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
`;

export interface StateWrite {
  /** The policy's id (`policyId`), its row's key. */
  id: string;
  policy: Policy;
  /** The new exact state, refreshed to now. */
  state: unknown;
}

export class LimitStore {
  readonly #storage: DurableObjectStorage;
  /** Exact states by policy id (null: never used). */
  readonly #cache = new Map<string, unknown>();
  /** What SQLite holds by policy id (null: no row), for the ids read since the last clear. */
  readonly #stored = new Map<string, unknown>();
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
      this.#stored.set(policy, state);
      return state;
    });
  }

  /**
   * Takes new exact states (read first with `readStates`) and an answer to keep for a requestId.
   * Writes, in one transaction, the answer and each state its stored row does not already cover
   * (ahead, with a reserve). Returns the earliest time a written row can be cleaned up, or null
   * when nothing was written.
   */
  write(states: readonly StateWrite[], remembered?: { requestId: string; decision: unknown; expiresAt: number }): number | null {
    const rows: { id: string; state: unknown; idleAt: number }[] = [];
    for (const { id, policy, state } of states) {
      this.#cache.set(id, state);
      const ahead = stateToWrite(policy, this.#stored.get(id) ?? null, state);
      if (ahead !== null) rows.push({ id, state: ahead, idleAt: idleAt(policy, ahead, ahead.at) });
    }
    if (rows.length === 0 && !remembered) return null;
    const sql = this.#sql;
    const writeAll = () => {
      for (const { id, state, idleAt } of rows) {
        sql.exec("INSERT OR REPLACE INTO _limit_state (policy, state, idle_at) VALUES (?, ?, ?)", id, JSON.stringify(state), idleAt);
      }
      if (remembered) {
        sql.exec("INSERT OR REPLACE INTO _request (request_id, decision, expires_at) VALUES (?, ?, ?)", remembered.requestId, JSON.stringify(remembered.decision), remembered.expiresAt);
      }
    };
    // One statement is atomic on its own; the common single-policy decision skips the savepoint.
    if (rows.length + (remembered ? 1 : 0) === 1) writeAll();
    else this.#storage.transactionSync(writeAll);
    for (const { id, state } of rows) this.#stored.set(id, state);
    return Math.min(...rows.map((row) => row.idleAt), remembered?.expiresAt ?? Number.POSITIVE_INFINITY);
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
      this.#stored.clear();
      return cleared;
    }
    let cleared = 0;
    for (const policy of policies) {
      cleared += sql.exec("DELETE FROM _limit_state WHERE policy = ?", policy).rowsWritten;
      this.#cache.delete(policy);
      this.#stored.delete(policy);
    }
    return cleared;
  }

  /** Drops fully replenished states and expired answers; returns the next time anything expires, or null. */
  sweep(now: number): number | null {
    const sql = this.#readable;
    if (sql === null) return null;
    const idle = sql.exec<{ policy: string }>("DELETE FROM _limit_state WHERE idle_at <= ? RETURNING policy", now).toArray();
    // A row is idle no sooner than the exact state it covers, so both can go.
    for (const { policy } of idle) {
      this.#cache.delete(policy);
      this.#stored.delete(policy);
    }
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
    this.#stored.clear();
    this.#ready = false;
    this.#alarmAt = undefined;
  }
}
