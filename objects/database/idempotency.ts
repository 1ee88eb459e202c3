/**
 * A block's Idempotency-Key records (docs/database.md, "Idempotent retries"): a write's answer is kept
 * for 24 hours under the caller and the key, with a fingerprint of the request, inside the write's
 * own transaction. A retry gets the same answer back (`replayed`), and another write reusing the
 * key is refused. The table is created with the block's internal tables (schema.ts).
 */
import { type Caller, callerKey } from "../../shared/caller";
import { HttpError } from "../../shared/errors";
import type { WriteResult } from "./contract";

/** How long an answer is kept for replays. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
/** The largest answer kept for a replay, in UTF-8 bytes: SQLite refuses a value past 2 MB. */
const RECORD_MAX_BYTES = 1_990_000;

/** Where one write's answer is kept: the caller's key, and what the request was. */
export interface IdempotentWrite {
  key: string;
  fingerprint: string;
}

/** The record a write is kept under, or null when it came without an Idempotency-Key. */
export function idempotentWrite(caller: Caller, idempotencyKey: string | null, request: [string, unknown]): IdempotentWrite | null {
  if (idempotencyKey === null) return null;
  return { key: `${callerKey(caller)}|${idempotencyKey}`, fingerprint: `${request[0]}|${hashText(JSON.stringify(request[1]) ?? "")}` };
}

export class IdempotencyRecords {
  readonly #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
  }

  /** A retry's kept answer, marked `replayed`; null for a first try. 422 when the key was used for another request. */
  replay(write: IdempotentWrite, now: number): WriteResult | null {
    const previous = this.#sql
      .exec<{ response: string }>(`SELECT response FROM _idempotency WHERE key = ? AND expiresAt > ?`, write.key, now)
      .toArray()[0];
    if (!previous) return null;
    const stored = JSON.parse(previous.response) as WriteResult & { fingerprint: string };
    if (stored.fingerprint !== write.fingerprint) {
      throw new HttpError(
        422,
        "IDEMPOTENCY_KEY_REUSED",
        "This Idempotency-Key was already used for a different request; use a new key for a new write.",
      );
    }
    return { status: stored.status, body: stored.body, seq: stored.seq, replayed: true };
  }

  /**
   * Keeps a write's answer; call it inside the write's transaction. A 413 (so nothing is written)
   * when the answer is too large to keep: a write by filter's answer is not bounded by its request.
   * The record expires IDEMPOTENCY_TTL_MS after `now`.
   */
  keep(write: IdempotentWrite, result: WriteResult, now: number): void {
    const record = JSON.stringify({ ...result, fingerprint: write.fingerprint });
    if (tooLargeToKeep(record)) {
      throw new HttpError(
        413,
        "TOO_MANY_ROWS",
        "This write's answer is too large to keep for Idempotency-Key replays (2 MB); nothing was written. Change fewer rows at a time, or send it without the key.",
      );
    }
    // An expired record the alarm has not removed yet may still hold the key: replace it.
    this.#sql.exec(
      `INSERT INTO _idempotency (key, response, expiresAt) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET response = excluded.response, expiresAt = excluded.expiresAt`,
      write.key,
      record,
      now + IDEMPOTENCY_TTL_MS,
    );
  }

  /** Removes the records expired by `now`. */
  sweep(now: number): void {
    this.#sql.exec(`DELETE FROM _idempotency WHERE expiresAt <= ?`, now);
  }

  /** When the next record expires, or null when none is kept. */
  nextExpiry(): number | null {
    return this.#sql.exec<{ at: number | null }>(`SELECT min(expiresAt) AS at FROM _idempotency`).one().at;
  }
}

/** Whether a record passes SQLite's value limit (UTF-8 takes at most 3 bytes per UTF-16 unit). */
function tooLargeToKeep(record: string): boolean {
  if (record.length * 3 <= RECORD_MAX_BYTES) return false;
  return new TextEncoder().encode(record).length > RECORD_MAX_BYTES;
}

/** FNV-1a over a string: tells a retry from a different write reusing an Idempotency-Key. */
function hashText(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return (hash >>> 0).toString(16);
}
