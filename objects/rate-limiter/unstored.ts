/**
 * The time until which a RateLimiterDO's keys without a row may have spent anything (reserve.ts:
 * a key within its reserve is kept in memory only). One value per actor, in `_meta`, read once
 * per instance: what the first read finds is how long an earlier instance's lost states may
 * still count. Written ahead, UNSTORED_AHEAD_MS past what a key needs, so a stream of new keys
 * moves it about once a minute, not at every key.
 */

/** `_meta`'s key for it. */
const UNSTORED_UNTIL = "unstored_until";

/**
 * How far past what a key needs the time is written: the price is that a restarted actor counts
 * the reserve as spent for keys without a row for up to this much longer.
 */
export const UNSTORED_AHEAD_MS = 60_000;

export class UnstoredTime {
  readonly #database: () => SqlStorage | null;
  /** As stored (undefined: not read yet; null: none). */
  #stored: number | null | undefined;
  /** As this instance first read it. */
  #lostUntil = Number.NEGATIVE_INFINITY;

  /** `database` gives the actor's SQLite, or null while it has no tables. */
  constructor(database: () => SqlStorage | null) {
    this.#database = database;
  }

  /** The stored time (null: none). */
  get stored(): number | null {
    if (this.#stored === undefined) {
      this.#stored =
        this.#database()?.exec<{ value: number }>("SELECT value FROM _meta WHERE key = ?", UNSTORED_UNTIL).toArray()[0]?.value ?? null;
      this.#lostUntil = this.#stored ?? Number.NEGATIVE_INFINITY;
    }
    return this.#stored;
  }

  /** Whether an earlier instance's keys without a row may still count at `now`. */
  mayHaveLost(now: number): boolean {
    return this.stored !== null && now < this.#lostUntil;
  }

  /** The time to write so that keys needing `until` are covered, or null when the stored one already is. */
  toWrite(until: number | null): number | null {
    if (until === null) return null;
    const stored = this.stored;
    return stored === null || until > stored ? until + UNSTORED_AHEAD_MS : null;
  }

  /** Stores `at` (inside the caller's transaction). */
  write(sql: SqlStorage, at: number): void {
    sql.exec("INSERT OR REPLACE INTO _meta (key, value) VALUES (?, ?)", UNSTORED_UNTIL, at);
    this.#stored = at;
  }

  /** Deletes the time once past (every key without a row has replenished by then: it would have moved it otherwise). */
  expire(sql: SqlStorage, now: number): void {
    const stored = this.stored;
    if (stored === null || stored > now) return;
    sql.exec("DELETE FROM _meta WHERE key = ?", UNSTORED_UNTIL);
    this.#stored = null;
  }

  /** After the whole database was deleted. */
  deleted(): void {
    this.#stored = null;
  }
}
