/**
 * The hand-off of committed changes from a block's DatabaseDO to its RealtimeDO, without making
 * a write wait. One hand-off is in flight at a time, so changes arrive in seq order; commits made
 * meanwhile are coalesced into the next one. Failures are logged: the realtime actor backfills
 * from `changesSince`. While no one subscribes to the block nothing is handed off, so a write to a
 * block nobody watches costs no second actor call.
 */
import type { Change } from "../../shared/change";
import { type RealtimeRpc, realtimeFor } from "../realtime/contract";
import { readListening, writeListening } from "./change-log";

export class RealtimeHandOff {
  readonly #sql: SqlStorage;
  readonly #env: Env;
  readonly #waitUntil: (promise: Promise<unknown>) => void;
  #realtime: RealtimeRpc | null = null;
  #outbox: Change[] = [];
  #publishing = false;
  /**
   * Whether commits are handed off: from a `listen` until a hand-off answers that nobody
   * subscribes. Kept in `_meta`, so a block nobody ever subscribed to never wakes its RealtimeDO
   * (a burst of new tenants costs one actor each, not two).
   */
  #listening: boolean;
  /** Counts `listen` calls, so a "nobody subscribes" answer sent before the latest one is ignored. */
  #epoch = 0;

  constructor(sql: SqlStorage, env: Env, seq: number, waitUntil: (promise: Promise<unknown>) => void) {
    this.#sql = sql;
    this.#env = env;
    this.#waitUntil = waitUntil;
    this.#listening = readListening(sql, seq);
  }

  /** A subscription is starting: every commit from now on is handed off (serial with the writes). */
  listen(): void {
    if (!this.#listening) writeListening(this.#sql, true);
    this.#listening = true;
    this.#epoch++;
  }

  /** Hands committed changes of block `name` to its RealtimeDO, if anyone subscribes. */
  publish(changes: Change[], name: string): void {
    if (changes.length === 0 || !this.#listening) return;
    this.#outbox.push(...changes);
    if (!this.#publishing) this.#flush(name);
  }

  #flush(name: string): void {
    const changes = this.#outbox;
    this.#outbox = [];
    this.#publishing = true;
    this.#realtime ??= realtimeFor(this.#env, name);
    const epoch = this.#epoch;
    const delivery = this.#realtime
      .publish(changes)
      .then((listening) => {
        if (listening !== false || epoch !== this.#epoch) return;
        // Nobody subscribes, and no subscription started since this hand-off left: stop until one does.
        this.#listening = false;
        writeListening(this.#sql, false);
        this.#outbox = [];
      })
      .catch((err: unknown) => {
        this.#realtime = null;
        console.error(
          JSON.stringify({ msg: "realtime hand-off failed", block: name, seq: changes[changes.length - 1]?.seq, error: String(err) }),
        );
      })
      .finally(() => {
        this.#publishing = false;
        if (this.#outbox.length > 0) this.#flush(name);
      });
    this.#waitUntil(delivery);
  }
}
