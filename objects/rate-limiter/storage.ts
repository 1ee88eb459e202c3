/**
 * A RateLimiterDO's SQLite: per key it serves, one row per policy used (its algorithm state and
 * the time it is fully replenished), the answers kept for `requestId` retries, and the cleanup
 * alarm's time. Every method is synchronous, so a caller can read, decide and write with no await
 * in between. The exact states live in memory for the keys used most recently (at most
 * `maxKeys`); SQLite holds, per key and policy, a state at least as spent (written ahead with a
 * reserve, see reserve.ts), which is what a key forgotten from memory, or a restarted actor,
 * starts from: forgetting can only make a key admit less for a while, never more. A key that has
 * spent no more than its reserve has no row: `_meta` records until when such states may exist, and
 * a restarted actor loads a key without a row, until then, as having spent its reserve.
 */
import { ALGORITHMS, type TimedState } from "./algorithms";
import { idleAt } from "./decision";
import type { Policy } from "../../shared/rate-limit/policy";
import { policyFromId, policyId } from "./policy-id";
import { stateToWrite, unstoredState, unstoredUntil } from "./reserve";
import { UnstoredTime } from "./unstored";

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS _limit_state (
    key TEXT NOT NULL, policy TEXT NOT NULL, state TEXT NOT NULL, idle_at INTEGER NOT NULL, PRIMARY KEY (key, policy)
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS _limit_state_idle ON _limit_state (idle_at);
  CREATE TABLE IF NOT EXISTS _request (
    key TEXT NOT NULL, request_id TEXT NOT NULL, decision TEXT NOT NULL, expires_at INTEGER NOT NULL, PRIMARY KEY (key, request_id)
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS _request_expiry ON _request (expires_at);
  CREATE TABLE IF NOT EXISTS _meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
`;

/** Keys whose exact states are kept in memory; the least recently used is forgotten first. */
export const MAX_CACHED_KEYS = 4_096;

/** Most rows one sweep looks at, so a cleanup never holds the actor for long. */
export const SWEEP_BATCH = 1_000;

export interface StateWrite {
  policy: Policy;
  /** The new exact state, refreshed to now. */
  state: unknown;
}

/** What a sweep leaves: when anything next expires (null: nothing left) and whether due rows were left for the next one. */
export interface Swept {
  next: number | null;
  more: boolean;
}

interface PolicyState {
  /** The exact state (null: never used). */
  exact: unknown;
  /** What SQLite holds (null: no row). */
  stored: unknown;
}

interface KeyStates {
  /** When a decision or lease last read this key. */
  usedAt: number;
  readonly policies: Map<string, PolicyState>;
}

/** Inserts or replaces the row of one policy's state on a key. */
function putState(sql: SqlStorage, key: string, id: string, state: unknown, idleAt: number): void {
  sql.exec("INSERT OR REPLACE INTO _limit_state (key, policy, state, idle_at) VALUES (?, ?, ?, ?)", key, id, JSON.stringify(state), idleAt);
}

/** States read for a key that is not kept in memory (a peek, a dry run, a sweep). */
function unkept(): KeyStates {
  return { usedAt: 0, policies: new Map() };
}

export class LimitStore {
  readonly #storage: DurableObjectStorage;
  readonly #maxKeys: number;
  /** By key, least recently used first. */
  readonly #keys = new Map<string, KeyStates>();
  #ready = false;
  #alarmAt: number | null | undefined;
  /** Until when keys without a row may have spent anything. */
  readonly #unstored = new UnstoredTime(() => this.#readable);
  /** The earliest time a row written since the last `takeCleanupDue` can be cleaned up. */
  #cleanupDue: number | null = null;

  constructor(storage: DurableObjectStorage, maxKeys = MAX_CACHED_KEYS) {
    this.#storage = storage;
    this.#maxKeys = maxKeys;
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
   * The database for reading, or null while nothing has been written: peeks and dry runs on unused
   * keys must not create tables that no alarm would ever clean up. Tables left by the one-actor-
   * per-key layout of earlier versions (no `key` column) are dropped: that state is forgotten once.
   */
  get #readable(): SqlStorage | null {
    if (!this.#ready) {
      const table = this.#storage.sql
        .exec<{ sql: string }>("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = '_limit_state'")
        .toArray()[0];
      if (!table) return null;
      if (!/\bkey TEXT\b/.test(table.sql)) {
        this.#storage.sql.exec("DROP TABLE _limit_state; DROP TABLE IF EXISTS _request; DROP TABLE IF EXISTS _meta;");
        return null;
      }
      this.#ready = true;
    }
    return this.#storage.sql;
  }

  /** A key's states in memory, marked most recently used; the least recent key is forgotten when over `maxKeys`. */
  #statesOf(key: string, now: number): KeyStates {
    let states = this.#keys.get(key);
    if (states) {
      this.#keys.delete(key);
      states.usedAt = now;
    } else {
      states = { usedAt: now, policies: new Map() };
      if (this.#keys.size >= this.#maxKeys) this.#forget(this.#keys.keys().next().value as string, now);
    }
    this.#keys.set(key, states);
    return states;
  }

  /**
   * Forgets a key's exact states, first writing each one its row does not equal: a row written
   * ahead counts its reserve as spent when reloaded, and a key forgotten and reloaded at every
   * decision would otherwise pay the reserve each time. A state without a row that has
   * replenished needs none: the key reloads fresh.
   */
  #forget(key: string, now: number): void {
    const states = this.#keys.get(key);
    this.#keys.delete(key);
    if (!states) return;
    for (const [id, known] of states.policies) {
      const policy = known.exact !== null && known.exact !== known.stored ? policyFromId(id) : null;
      if (policy === null) continue;
      const idle = idleAt(policy, known.exact, now);
      if (known.stored === null && idle <= now) continue;
      putState(this.#sql, key, id, known.exact, idle);
      this.#due(idle);
    }
  }

  /** Notes a row that the cleanup alarm must come back for by `at`. */
  #due(at: number): void {
    this.#cleanupDue = this.#cleanupDue === null ? at : Math.min(this.#cleanupDue, at);
  }

  /**
   * The earliest time anything written since the last call (rows, answers, the unstored time) can
   * be cleaned up, or null when nothing was written; the actor makes sure its alarm comes by then.
   */
  takeCleanupDue(): number | null {
    const due = this.#cleanupDue;
    this.#cleanupDue = null;
    return due;
  }

  /**
   * The exact state of one policy on a key. One not yet in memory is read from SQLite and brought
   * up to `now` once, which is when a state written ahead counts its reserve as spent (gcra's
   * `owed`): what a restarted actor starts from. Without a row, a key is fresh, or, while an
   * earlier instance's unstored states may still count, has spent its reserve just now.
   */
  #policyState(states: KeyStates, key: string, policy: Policy, now: number): PolicyState {
    const id = policyId(policy);
    let known = states.policies.get(id);
    if (!known) {
      const row = this.#readable
        ?.exec<{ state: string }>("SELECT state FROM _limit_state WHERE key = ? AND policy = ?", key, id)
        .toArray()[0];
      const stored = row ? (JSON.parse(row.state) as TimedState) : null;
      const exact = stored
        ? ALGORITHMS[policy.algorithm].refresh(policy, stored, now)
        : this.#unstored.mayHaveLost(now)
          ? unstoredState(policy, now)
          : null;
      known = { exact, stored };
      states.policies.set(id, known);
    }
    return known;
  }

  /**
   * The exact states of these policies on `key` (null where the policy has none). With `use` (a
   * decision that may debit) the key is kept in memory as the most recently used; a peek or a dry
   * run reads without keeping it, so it can neither push a key out nor count as use.
   */
  readStates(key: string, policies: readonly Policy[], now: number, use = true): unknown[] {
    const states = use ? this.#statesOf(key, now) : (this.#keys.get(key) ?? unkept());
    return policies.map((policy) => this.#policyState(states, key, policy, now).exact);
  }

  /**
   * Takes new exact states of `key` (read first with `readStates`) and an answer to keep for a
   * requestId. Writes, in one transaction, the answer and each state its stored row does not
   * already cover (ahead, with a reserve); a state without a row within its reserve stays
   * unwritten, and the unstored time (unstored.ts) is moved later when it would not cover it.
   * Returns `takeCleanupDue`.
   */
  write(
    key: string,
    states: readonly StateWrite[],
    remembered?: { requestId: string; decision: unknown; expiresAt: number },
  ): number | null {
    const known = this.#keys.get(key) ?? this.#statesOf(key, Date.now());
    const rows: { id: string; known: PolicyState; state: TimedState; idleAt: number }[] = [];
    let unstored: number | null = null;
    for (const { policy, state } of states) {
      const id = policyId(policy);
      const entry = known.policies.get(id) ?? { exact: null, stored: null };
      known.policies.set(id, entry);
      entry.exact = state;
      const current = state as TimedState;
      const until = entry.stored === null ? unstoredUntil(policy, current) : null;
      if (until !== null) {
        unstored = Math.max(unstored ?? until, until);
        continue;
      }
      const ahead = stateToWrite(policy, entry.stored, current);
      if (ahead !== null) rows.push({ id, known: entry, state: ahead, idleAt: idleAt(policy, ahead, ahead.at) });
    }
    const unstoredAt = this.#unstored.toWrite(unstored);
    const statements = rows.length + (remembered ? 1 : 0) + (unstoredAt !== null ? 1 : 0);
    if (statements === 0) return this.takeCleanupDue();
    const sql = this.#sql;
    const writeAll = () => {
      for (const row of rows) putState(sql, key, row.id, row.state, row.idleAt);
      if (remembered) {
        sql.exec(
          "INSERT OR REPLACE INTO _request (key, request_id, decision, expires_at) VALUES (?, ?, ?, ?)",
          key,
          remembered.requestId,
          JSON.stringify(remembered.decision),
          remembered.expiresAt,
        );
      }
      if (unstoredAt !== null) this.#unstored.write(sql, unstoredAt);
    };
    // One statement is atomic on its own; the common single-policy decision skips the savepoint.
    if (statements === 1) writeAll();
    else this.#storage.transactionSync(writeAll);
    for (const row of rows) {
      row.known.stored = row.state;
      this.#due(row.idleAt);
    }
    if (remembered) this.#due(remembered.expiresAt);
    if (unstoredAt !== null) this.#due(unstoredAt);
    return this.takeCleanupDue();
  }

  /** Forgets one policy's state of a key in memory, and the key once it has none left. */
  #dropPolicy(key: string, id: string): void {
    const states = this.#keys.get(key);
    if (!states) return;
    states.policies.delete(id);
    if (states.policies.size === 0) this.#keys.delete(key);
  }

  /** The answer stored for a requestId on `key` that has not expired, or null. */
  remembered(key: string, requestId: string, now: number): unknown {
    const row = this.#readable
      ?.exec<{ decision: string }>("SELECT decision FROM _request WHERE key = ? AND request_id = ? AND expires_at > ?", key, requestId, now)
      .toArray()[0];
    return row ? (JSON.parse(row.decision) as unknown) : null;
  }

  /**
   * Forgets these policies' states on `key`, or all its states and remembered answers when
   * `policies` is null. Returns how many states it forgot, with or without a row.
   */
  clear(key: string, policies: readonly Policy[] | null): number {
    const sql = this.#readable;
    const ids = policies?.map(policyId) ?? null;
    // States in memory only: forgetting them is all there is to do.
    let cleared = 0;
    for (const [id, known] of this.#keys.get(key)?.policies ?? []) {
      if ((ids === null || ids.includes(id)) && known.stored === null && known.exact !== null) cleared++;
    }
    if (ids === null) {
      this.#keys.delete(key);
      if (sql === null) return cleared;
      sql.exec("DELETE FROM _request WHERE key = ?", key);
      return cleared + sql.exec("DELETE FROM _limit_state WHERE key = ?", key).rowsWritten;
    }
    for (const id of ids) {
      if (sql !== null) cleared += sql.exec("DELETE FROM _limit_state WHERE key = ? AND policy = ?", key, id).rowsWritten;
      this.#dropPolicy(key, id);
    }
    return cleared;
  }

  /**
   * Drops expired answers, the unstored time once past, and fully replenished states of keys
   * unused for `idleMs`, in SQLite and in memory; looks at no more than SWEEP_BATCH due rows at a
   * time. A row's `idle_at` is when the state it holds replenishes; decisions it still covered may
   * have spent since, so a row is dropped only when the exact state (in memory, or the row as a
   * restarted actor reloads it) is replenished too, and otherwise is rewritten as that state. A
   * due row of a key in use (a decision used the policy within `idleMs`) stays as it is, due again
   * `idleMs` later: under a high limit a busy key replenishes within milliseconds of each
   * decision, and dropping its row would only make the next decision write it again.
   */
  sweep(now: number, idleMs: number): Swept {
    const sql = this.#readable;
    if (sql === null) return { next: null, more: false };
    const due = sql
      .exec<{ key: string; policy: string }>(
        "SELECT key, policy FROM _limit_state WHERE idle_at <= ? ORDER BY idle_at LIMIT ?",
        now,
        SWEEP_BATCH,
      )
      .toArray();
    let expired = 0;
    this.#storage.transactionSync(() => {
      for (const { key, policy: id } of due) {
        const states = this.#keys.get(key);
        if (states?.policies.has(id) && now - states.usedAt < idleMs) {
          sql.exec("UPDATE _limit_state SET idle_at = ? WHERE key = ? AND policy = ?", now + idleMs, key, id);
          continue;
        }
        const policy = policyFromId(id);
        // No policy makes this id, so no decision can read the row: nothing to keep it for.
        const known = policy ? this.#policyState(states ?? unkept(), key, policy, now) : null;
        const idle = policy && known?.exact ? idleAt(policy, known.exact, now) : now;
        if (known && idle > now) {
          // Keep it, as the exact state: a row reloaded here already counts its reserve as spent, and
          // a later restart must not count it again (it would never be replenished).
          sql.exec(
            "UPDATE _limit_state SET state = ?, idle_at = ? WHERE key = ? AND policy = ?",
            JSON.stringify(known.exact),
            idle,
            key,
            id,
          );
          known.stored = known.exact;
          continue;
        }
        sql.exec("DELETE FROM _limit_state WHERE key = ? AND policy = ?", key, id);
        this.#dropPolicy(key, id);
      }
      expired = sql.exec(
        "DELETE FROM _request WHERE (key, request_id) IN (SELECT key, request_id FROM _request WHERE expires_at <= ? LIMIT ?)",
        now,
        SWEEP_BATCH,
      ).rowsWritten;
      this.#unstored.expire(sql, now);
    });
    this.#dropIdleUnstored(now, idleMs);
    const rows = sql
      .exec<{ next: number | null }>(
        "SELECT min(t) AS next FROM (SELECT min(idle_at) AS t FROM _limit_state UNION ALL SELECT min(expires_at) FROM _request)",
      )
      .one().next;
    const times = [rows, this.#unstored.stored].filter((t): t is number => t !== null);
    return { next: times.length > 0 ? Math.min(...times) : null, more: due.length === SWEEP_BATCH || expired === SWEEP_BATCH };
  }

  /**
   * Forgets, from memory, the states without a row of keys unused for `idleMs` once replenished:
   * they would load fresh anyway. Keys without a row are never swept as rows are, so without
   * this a stream of new keys would fill memory up to `maxKeys`. Keys are kept in order of use,
   * so the walk stops at the first one used since.
   */
  #dropIdleUnstored(now: number, idleMs: number): void {
    for (const [key, states] of this.#keys) {
      if (now - states.usedAt < idleMs) break;
      for (const [id, known] of states.policies) {
        if (known.stored !== null) continue;
        const policy = known.exact === null ? null : policyFromId(id);
        if (policy === null || idleAt(policy, known.exact, now) <= now) states.policies.delete(id);
      }
      if (states.policies.size === 0) this.#keys.delete(key);
    }
  }

  /** How many keys have states in memory. */
  get keysInMemory(): number {
    return this.#keys.size;
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

  /** Removes the whole database (nothing is left); the schema is recreated on next use. */
  async destroy(): Promise<void> {
    await this.#storage.deleteAlarm();
    await this.#storage.deleteAll();
    // Nothing was left, not even the unstored time: every state in memory has replenished.
    this.#keys.clear();
    this.#ready = false;
    this.#alarmAt = undefined;
    this.#unstored.deleted();
  }
}
