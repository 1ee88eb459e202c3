/**
 * The RateLimiterDO's SQLite: one row per policy used on this key (its algorithm state and the time
 * it is fully replenished), the answers kept for `requestId` retries, and the cleanup alarm's time.
 * Every method is synchronous, so a caller can read, decide and write with no await in between.
 * The exact states live in memory; SQLite holds, per policy, a state at least as spent (written
 * ahead with a reserve, see reserve.ts), which is what a restarted actor starts from.
 */
import { ALGORITHMS, type TimedState } from "./algorithms";
import { idleAt } from "./decision";
import type { Policy } from "../../shared/rate-limit/policy";
import { policyFromId, policyId } from "./policy-id";
import { stateToWrite } from "./reserve";

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS _limit_state (policy TEXT PRIMARY KEY, state TEXT NOT NULL, idle_at INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS _request (request_id TEXT PRIMARY KEY, decision TEXT NOT NULL, expires_at INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS _meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
`;

export interface StateWrite {
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
      const exists =
        this.#storage.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_limit_state'").toArray().length > 0;
      if (!exists) return null;
      this.#ready = true;
    }
    return this.#storage.sql;
  }

  /**
   * The exact states of these policies (null where the policy has none). A state not yet in
   * memory is read from SQLite and brought up to `now` once, which is when a state written ahead
   * counts its reserve as spent (gcra's `owed`): what a restarted actor starts from.
   */
  readStates(policies: readonly Policy[], now: number): unknown[] {
    return policies.map((policy) => {
      const id = policyId(policy);
      if (this.#cache.has(id)) return this.#cache.get(id);
      const row = this.#readable?.exec<{ state: string }>("SELECT state FROM _limit_state WHERE policy = ?", id).toArray()[0];
      const stored = row ? (JSON.parse(row.state) as TimedState) : null;
      const state = stored && ALGORITHMS[policy.algorithm].refresh(policy, stored, now);
      this.#cache.set(id, state);
      this.#stored.set(id, stored);
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
    for (const { policy, state } of states) {
      const id = policyId(policy);
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
        sql.exec(
          "INSERT OR REPLACE INTO _request (request_id, decision, expires_at) VALUES (?, ?, ?)",
          remembered.requestId,
          JSON.stringify(remembered.decision),
          remembered.expiresAt,
        );
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
    const row = this.#readable
      ?.exec<{ decision: string }>("SELECT decision FROM _request WHERE request_id = ? AND expires_at > ?", requestId, now)
      .toArray()[0];
    return row ? (JSON.parse(row.decision) as unknown) : null;
  }

  /** Forgets these policies' states, or every state and remembered answer when `policies` is null. */
  clear(policies: readonly Policy[] | null): number {
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
    for (const id of policies.map(policyId)) {
      cleared += sql.exec("DELETE FROM _limit_state WHERE policy = ?", id).rowsWritten;
      this.#cache.delete(id);
      this.#stored.delete(id);
    }
    return cleared;
  }

  /**
   * Drops expired answers and, with `states`, fully replenished states; returns the next time
   * anything expires, or null. A row's `idle_at` is when the state it holds replenishes; decisions
   * it still covered may have spent since, so a row is dropped only when the exact state (in
   * memory, or the row as a restarted actor reloads it) is replenished too, and otherwise is
   * rewritten as that state.
   */
  sweep(now: number, states: boolean): number | null {
    const sql = this.#readable;
    if (sql === null) return null;
    const due = states ? sql.exec<{ policy: string }>("SELECT policy FROM _limit_state WHERE idle_at <= ?", now).toArray() : [];
    for (const { policy: id } of due) {
      const policy = policyFromId(id);
      // No policy makes this id, so no decision can read the row: nothing to keep it for.
      const exact = policy ? this.readStates([policy], now)[0] : null;
      const idle = policy && exact ? idleAt(policy, exact, now) : now;
      if (idle > now) {
        // Keep it, as the exact state: a row reloaded here already counts its reserve as spent, and
        // a later restart must not count it again (it would never be replenished).
        sql.exec("UPDATE _limit_state SET state = ?, idle_at = ? WHERE policy = ?", JSON.stringify(exact), idle, id);
        this.#stored.set(id, exact);
        continue;
      }
      sql.exec("DELETE FROM _limit_state WHERE policy = ?", id);
      this.#cache.delete(id);
      this.#stored.delete(id);
    }
    sql.exec("DELETE FROM _request WHERE expires_at <= ?", now);
    const next = sql
      .exec<{ next: number | null }>(
        "SELECT min(t) AS next FROM (SELECT min(idle_at) AS t FROM _limit_state UNION ALL SELECT min(expires_at) FROM _request)",
      )
      .one().next;
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
