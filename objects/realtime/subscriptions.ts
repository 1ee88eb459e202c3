/**
 * Subscriptions and the fan-out of one change to them. Each change is serialized once; a
 * subscriber's frame is the shared row JSON spliced with its subscription id. What a subscriber
 * sees follows the row, not the op: an update that leaves its filter or its read rule arrives as
 * a delete (of the row it last saw), one that enters them as an insert.
 */
import type { Block } from "../../shared/block";
import type { Caller } from "../../shared/caller";
import type { Change } from "../../shared/change";
import type { Connection } from "./connection";
import { type RowPredicate, canRead } from "./visibility";

export interface Subscription {
  readonly conn: Connection;
  readonly id: string;
  readonly table: string;
  readonly filter: string;
  readonly predicate: RowPredicate;
  /** The last seq this subscription has been given (or skipped as not matching). */
  cursor: number;
  /** False while the subscription replays from the change log; live fan-out skips it until then. */
  live: boolean;
  /** Set when unsubscribed or the socket closed, so a replay in flight stops. */
  ended: boolean;
}

/** Subscriptions grouped by table, so a change only visits the subscribers of its table. */
export class SubscriptionIndex {
  readonly #byTable = new Map<string, Set<Subscription>>();
  #count = 0;

  get size(): number {
    return this.#count;
  }

  add(sub: Subscription): void {
    let set = this.#byTable.get(sub.table);
    if (!set) this.#byTable.set(sub.table, (set = new Set()));
    if (!set.has(sub)) this.#count++;
    set.add(sub);
  }

  remove(sub: Subscription): void {
    const set = this.#byTable.get(sub.table);
    if (set?.delete(sub)) this.#count--;
    if (set && set.size === 0) this.#byTable.delete(sub.table);
  }

  *all(): Iterable<Subscription> {
    for (const set of this.#byTable.values()) yield* set;
  }

  forTable(table: string): Iterable<Subscription> {
    return this.#byTable.get(table) ?? [];
  }
}

/** Whether a caller's read rule lets it see one row of the change's table. */
export type ReadCheck = (caller: Caller, row: Record<string, unknown>) => boolean;

/** The read check of the shipped config for one block and table. */
export function readCheckFor(block: Block, table: string): ReadCheck {
  return (caller, row) => canRead(caller, block, table, row);
}

/** One change being fanned out: serialized once, rule checks cached per connection. */
export class ChangeFanOut {
  readonly change: Change;
  readonly #canRead: ReadCheck;
  readonly #head: string;
  #rowJson: string | undefined;
  #oldJson: string | undefined;
  readonly #readable = new Map<Connection, { after: boolean; before: boolean }>();

  constructor(change: Change, canReadRow: ReadCheck) {
    this.change = change;
    this.#canRead = canReadRow;
    this.#head = `,"seq":${change.seq},"table":${JSON.stringify(change.table)}`;
  }

  /** The frame this subscriber gets for the change, or null when it must not see it. */
  frameFor(sub: Subscription): string | null {
    const { change } = this;
    const conn = sub.conn;
    if (conn.caller === null) return null;
    const readable = this.#rulesFor(conn);
    if (change.op === "insert") {
      return readable.after && sub.predicate(change.row) ? this.#frame(sub, "insert", "row") : null;
    }
    const before = change.old ?? change.row;
    if (change.op === "delete") {
      return readable.before && sub.predicate(before) ? this.#frame(sub, "delete", change.old ? "old" : "row") : null;
    }
    const inAfter = readable.after && sub.predicate(change.row);
    const inBefore = change.old ? readable.before && sub.predicate(change.old) : inAfter;
    if (inAfter && inBefore) return this.#frame(sub, "update", "row", true);
    if (inAfter) return this.#frame(sub, "insert", "row");
    if (inBefore) return this.#frame(sub, "delete", "old");
    return null;
  }

  #rulesFor(conn: Connection): { after: boolean; before: boolean } {
    let readable = this.#readable.get(conn);
    if (!readable) {
      const caller = conn.caller;
      const { change } = this;
      const after = caller !== null && this.#canRead(caller, change.row);
      const before = change.old === undefined ? after : caller !== null && this.#canRead(caller, change.old);
      readable = { after, before };
      this.#readable.set(conn, readable);
    }
    return readable;
  }

  #json(which: "row" | "old"): string {
    if (which === "row") return (this.#rowJson ??= JSON.stringify(this.change.row));
    return (this.#oldJson ??= JSON.stringify(this.change.old ?? this.change.row));
  }

  #frame(sub: Subscription, op: Change["op"], rowFrom: "row" | "old", withOld = false): string {
    const old = withOld && this.change.old ? `,"old":${this.#json("old")}` : "";
    return `{"type":"change","sub":${JSON.stringify(sub.id)}${this.#head},"op":"${op}","row":${this.#json(rowFrom)}${old}}`;
  }
}
