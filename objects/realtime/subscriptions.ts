/**
 * Subscriptions and the fan-out of one change to them. Each change is serialized once; a
 * subscriber's frame is the shared row JSON spliced with its subscription id. What a subscriber
 * sees follows the row, not the op: an update that leaves its filter or its read rule arrives as
 * a delete (of the row it last saw), one that enters them as an insert.
 */
import type { Block } from "../../shared/block";
import type { Caller } from "../../shared/caller";
import type { Change } from "../../shared/change";
import { type Connection, send } from "./connection";
import { type RowPredicate, canRead } from "./visibility";

export interface Subscription {
  readonly conn: Connection;
  readonly id: string;
  readonly table: string;
  readonly filter: string;
  readonly predicate: RowPredicate;
  /** Asked for `changes` messages (several changes per frame) instead of one `change` per change. */
  readonly batch: boolean;
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

/**
 * What a rule can tell callers apart by: its kind, and a user's `sub` and claims (rules see no
 * more, see shared/rules.ts). Callers with equal keys get equal read decisions.
 */
const callerKeys = new WeakMap<Caller, string>();
function callerKeyOf(caller: Caller): string {
  let key = callerKeys.get(caller);
  if (key === undefined) {
    key = caller.kind === "user" ? `user ${JSON.stringify([caller.sub, caller.claims])}` : caller.kind;
    callerKeys.set(caller, key);
  }
  return key;
}

/** Each subscription's view, kept while its socket's caller stays the same object. */
const views = new WeakMap<Subscription, { caller: Caller; view: string }>();

/** A subscription's view: subscriptions with equal views see exactly the same entries of a change. */
export function viewOf(sub: Subscription): string {
  const caller = sub.conn.caller;
  if (caller === null) return "";
  const cached = views.get(sub);
  if (cached?.caller === caller) return cached.view;
  const view = `${sub.table}\u0000${sub.filter}\u0000${callerKeyOf(caller)}`;
  views.set(sub, { caller, view });
  return view;
}

/** The shapes a change can take for one subscriber: which op, which row, whether `old` rides along. */
const Shape = { Insert: 0, Update: 1, Delete: 2, DeleteOld: 3 } as const;
type Shape = (typeof Shape)[keyof typeof Shape];

/**
 * One change being fanned out: serialized once per shape, and decided once per view, so 500
 * subscribers with the same filter and caller cost one predicate and one rule check.
 */
export class ChangeFanOut {
  readonly change: Change;
  readonly #canRead: ReadCheck;
  readonly #head: string;
  #rowJson: string | undefined;
  #oldJson: string | undefined;
  readonly #entries: (string | undefined)[] = [];
  /** The entry (or null: hidden) per view already decided. */
  readonly #byView = new Map<string, string | null>();

  constructor(change: Change, canReadRow: ReadCheck) {
    this.change = change;
    this.#canRead = canReadRow;
    this.#head = `{"seq":${change.seq},"table":${JSON.stringify(change.table)}`;
  }

  /** The frame this subscriber gets for the change, or null when it must not see it. */
  frameFor(sub: Subscription, view = viewOf(sub)): string | null {
    const entry = this.entryFor(sub, view);
    return entry === null ? null : `{"type":"change","sub":${JSON.stringify(sub.id)},${entry.slice(1)}`;
  }

  /** The change as this subscriber sees it (`seq`, `table`, `op`, `row`, `old`?), or null when hidden. */
  entryFor(sub: Subscription, view = viewOf(sub)): string | null {
    let entry = this.#byView.get(view);
    if (entry === undefined) {
      const shape = this.#shapeFor(sub);
      entry = shape === null ? null : this.#entry(shape);
      this.#byView.set(view, entry);
    }
    return entry;
  }

  #shapeFor(sub: Subscription): Shape | null {
    const { change } = this;
    const caller = sub.conn.caller;
    if (caller === null) return null;
    const after = this.#canRead(caller, change.row);
    if (change.op === "insert") return after && sub.predicate(change.row) ? Shape.Insert : null;
    const before = change.old === undefined ? after : this.#canRead(caller, change.old);
    if (change.op === "delete") {
      return before && sub.predicate(change.old ?? change.row) ? (change.old ? Shape.DeleteOld : Shape.Delete) : null;
    }
    const inAfter = after && sub.predicate(change.row);
    const inBefore = change.old ? before && sub.predicate(change.old) : inAfter;
    if (inAfter && inBefore) return Shape.Update;
    if (inAfter) return Shape.Insert;
    if (inBefore) return Shape.DeleteOld;
    return null;
  }

  #json(which: "row" | "old"): string {
    if (which === "row") return (this.#rowJson ??= JSON.stringify(this.change.row));
    return (this.#oldJson ??= JSON.stringify(this.change.old ?? this.change.row));
  }

  #entry(shape: Shape): string {
    let entry = this.#entries[shape];
    if (entry === undefined) {
      const op = shape === Shape.Insert ? "insert" : shape === Shape.Update ? "update" : "delete";
      const row = this.#json(shape === Shape.DeleteOld ? "old" : "row");
      const old = shape === Shape.Update && this.change.old ? `,"old":${this.#json("old")}` : "";
      entry = `${this.#head},"op":"${op}","row":${row}${old}}`;
      this.#entries[shape] = entry;
    }
    return entry;
  }
}

/**
 * What sending a frame costs, in frames: one, plus one per this many characters it carries (from
 * bench/scenarios/realtime-cpu.mjs on the shared 2-core machine, a frame's fixed cost across the
 * runtime, the dev proxy and a client is about what 4 KiB of its payload costs).
 */
export const FRAME_COST_CHARS = 4096;

/**
 * Delivers a run of changes (one hand-off, one replay page) in seq order. An ordinary subscription
 * gets a `change` frame per change; a `batch` one gets its changes in `changes` frames of at most
 * `maxChars` of entries each. Which changes a subscription sees is decided once per view, and a
 * `changes` frame is built once per view and subscription id, so 500 sockets watching the same
 * table with the same filter and caller cost one decision per change and one frame string.
 */
export class RunDelivery {
  readonly #byTable = new Map<string, ChangeFanOut[]>();
  readonly #maxChars: number;
  /** Per view: its entries of the whole run, and the frames built from them per subscription id. */
  readonly #views = new Map<string, { entries: string[]; frames: Map<string, string[]> }>();
  /** Frames sent so far, and what they cost (see `FRAME_COST_CHARS`). */
  frames = 0;
  cost = 0;

  constructor(fanOuts: ChangeFanOut[], maxChars: number) {
    this.#maxChars = maxChars;
    for (const fanOut of fanOuts) {
      const list = this.#byTable.get(fanOut.change.table);
      if (list) list.push(fanOut);
      else this.#byTable.set(fanOut.change.table, [fanOut]);
    }
  }

  /** The tables the run touches. */
  get tables(): Iterable<string> {
    return this.#byTable.keys();
  }

  /** Gives the subscription every change of its table after its cursor, then moves the cursor past the run. */
  deliver(sub: Subscription): void {
    const list = this.#byTable.get(sub.table);
    if (!list) return;
    const view = viewOf(sub);
    const last = (list[list.length - 1] as ChangeFanOut).change.seq;
    const whole = sub.cursor < (list[0] as ChangeFanOut).change.seq;
    if (!sub.batch) {
      for (const fanOut of list) {
        if (fanOut.change.seq <= sub.cursor) continue;
        const frame = fanOut.frameFor(sub, view);
        if (frame) this.#send(sub, frame);
      }
    } else if (whole) {
      let shared = this.#views.get(view);
      if (!shared) this.#views.set(view, (shared = { entries: entriesOf(list, sub, view), frames: new Map() }));
      let frames = shared.frames.get(sub.id);
      if (!frames) shared.frames.set(sub.id, (frames = changesFrames(sub.id, shared.entries, this.#maxChars)));
      for (const frame of frames) this.#send(sub, frame);
    } else {
      const after = list.filter((fanOut) => fanOut.change.seq > sub.cursor);
      for (const frame of changesFrames(sub.id, entriesOf(after, sub, view), this.#maxChars)) this.#send(sub, frame);
    }
    if (last > sub.cursor) sub.cursor = last;
  }

  #send(sub: Subscription, frame: string): void {
    send(sub.conn, frame);
    this.frames++;
    this.cost += 1 + frame.length / FRAME_COST_CHARS;
  }
}

function entriesOf(fanOuts: ChangeFanOut[], sub: Subscription, view: string): string[] {
  const entries: string[] = [];
  for (const fanOut of fanOuts) {
    const entry = fanOut.entryFor(sub, view);
    if (entry !== null) entries.push(entry);
  }
  return entries;
}

/** `changes` frames carrying `entries` in order, a new frame whenever the next entry would pass `maxChars`. */
function changesFrames(id: string, entries: string[], maxChars: number): string[] {
  const frames: string[] = [];
  const head = `{"type":"changes","sub":${JSON.stringify(id)},"changes":[`;
  let start = 0;
  let chars = 0;
  for (let i = 0; i < entries.length; i++) {
    const length = (entries[i] as string).length;
    if (i > start && chars + length > maxChars) {
      frames.push(`${head}${entries.slice(start, i).join(",")}]}`);
      start = i;
      chars = 0;
    }
    chars += length;
  }
  if (entries.length > start) frames.push(`${head}${entries.slice(start).join(",")}]}`);
  return frames;
}
