/**
 * The block's change stream as the RealtimeDO delivers it: strictly in seq order, each change
 * once. Hand-offs from the DatabaseDO are buffered by seq; a gap (a hand-off out of order, lost,
 * or an actor that woke behind) is filled from `changesSince` instead of being skipped. New
 * subscriptions replay from the change log (or a snapshot) and join the live stream exactly where
 * their replay ends: no gap, no overlap.
 */
import type { Block } from "../../shared/block";
import type { Caller } from "../../shared/caller";
import type { Change, ChangesPage } from "../../shared/change";
import type { SubscribeMessage } from "../../shared/protocol";
import { send } from "./connection";
import type { ChangeSource } from "./database";
import type { RealtimeLimits } from "./limits";
import type { RealtimeStore } from "./store";
import { ChangeFanOut, RunDelivery, type Subscription, SubscriptionIndex, readCheckFor } from "./subscriptions";

/** Largest run of entries (in UTF-16 code units) one `changes` frame carries before another starts. */
const MAX_BATCH_CHARS = 128 * 1024;

export class ChangeFeed {
  readonly #store: RealtimeStore;
  readonly #source: () => ChangeSource;
  readonly #block: () => Block;
  readonly #limits: () => RealtimeLimits;
  readonly #subs = new SubscriptionIndex();
  /** Changes handed off but not yet deliverable (waiting for an earlier seq). */
  readonly #pending = new Map<number, Change>();
  #delivered: number;
  /** Set when the DatabaseDO may hold changes we have not seen; the pump then reads the log. */
  #behind = false;
  /** True once the log was read to its end since waking, so `delivered` is the block's seq. */
  #synced = false;
  #pumping: Promise<void> | null = null;
  /** What the change frames sent to live subscriptions cost since the actor started, in frames (the RealtimeDO paces hand-offs by it). */
  #deliveryCost = 0;

  /** `source` and `block` are read at first use, not here: the RealtimeDO learns its block lazily. */
  constructor(store: RealtimeStore, source: () => ChangeSource, block: () => Block, limits: () => RealtimeLimits) {
    this.#store = store;
    this.#source = source;
    this.#block = block;
    this.#limits = limits;
    this.#delivered = store.deliveredSeq();
  }

  /** The last seq delivered to live subscriptions (persisted, so exact across hibernation). */
  get delivered(): number {
    return this.#delivered;
  }

  get size(): number {
    return this.#subs.size;
  }

  get deliveryCost(): number {
    return this.#deliveryCost;
  }

  add(sub: Subscription): void {
    this.#subs.add(sub);
  }

  remove(sub: Subscription): void {
    this.#subs.remove(sub);
  }

  /** Takes a committed group of changes and delivers everything deliverable, in order. */
  publish(changes: Change[]): Promise<void> {
    for (const change of changes) {
      if (change.seq > this.#delivered) this.#pending.set(change.seq, change);
    }
    return this.#pump();
  }

  /** Reads the change log to its end (after waking with subscribers, or to learn the block's seq). */
  catchUp(): Promise<void> {
    this.#behind = true;
    return this.#pump();
  }

  /**
   * Starts a subscription: answers `subscribed` (with a snapshot, after a `reset`, or at `since`),
   * replays what it missed from the log, then marks it live in the same turn it caught up.
   */
  async start(sub: Subscription, message: SubscribeMessage, caller: Caller): Promise<void> {
    const block = this.#block();
    const limits = this.#limits();
    await this.#listenedAt(await this.#source().listen());
    if (sub.ended) return;
    if (message.snapshot) {
      const query = [sub.filter, `limit=${limits.snapshotRows}`].filter(Boolean).join("&");
      const page = await this.#source().snapshot(caller, sub.table, query);
      if (sub.ended) return;
      sub.cursor = page.seq;
      const more = page.nextCursor !== null ? { more: true } : {};
      send(sub.conn, JSON.stringify({ type: "subscribed", id: sub.id, seq: page.seq, snapshot: page.items, ...more }));
    } else if (message.since !== undefined) {
      const since = message.since;
      const page = await this.#source().changesSince(since, { table: sub.table, limit: limits.replayPageSize });
      if (sub.ended) return;
      if (since < page.oldestSeq - 1 || since > page.seq) {
        sub.cursor = page.seq;
        send(sub.conn, JSON.stringify({ type: "reset", sub: sub.id, reason: "history_truncated" }));
        send(sub.conn, JSON.stringify({ type: "subscribed", id: sub.id, seq: page.seq }));
      } else {
        sub.cursor = since;
        send(sub.conn, JSON.stringify({ type: "subscribed", id: sub.id, seq: since }));
        this.#replayPage(sub, page, block);
      }
    } else {
      if (!this.#synced) await this.catchUp();
      if (sub.ended) return;
      sub.cursor = this.#delivered;
      send(sub.conn, JSON.stringify({ type: "subscribed", id: sub.id, seq: sub.cursor }));
    }
    // Replay until level with the live stream; the check and `live = true` share one turn.
    while (!sub.ended && sub.cursor < this.#delivered) {
      const page = await this.#source().changesSince(sub.cursor, { table: sub.table, limit: limits.replayPageSize });
      if (sub.ended) return;
      if (sub.cursor < page.oldestSeq - 1) {
        sub.cursor = page.seq;
        send(sub.conn, JSON.stringify({ type: "reset", sub: sub.id, reason: "history_truncated" }));
        continue;
      }
      this.#replayPage(sub, page, block);
    }
    sub.live = true;
  }

  /**
   * The DatabaseDO's seq when it was asked to hand off again. It hands off nothing while no one
   * subscribes, so `delivered` may lag behind: with no live subscriber and nothing under way, the
   * changes in between are nobody's to deliver and the feed skips to `seq`; otherwise it reads them.
   */
  async #listenedAt(seq: number): Promise<void> {
    if (seq <= this.#delivered) return;
    const anyLive = [...this.#subs.all()].some((s) => s.live);
    if (this.#pumping === null && this.#pending.size === 0 && !anyLive) {
      this.#advance(seq);
      this.#synced = true;
      return;
    }
    await this.catchUp();
  }

  #replayPage(sub: Subscription, page: ChangesPage, block: Block): void {
    new RunDelivery(this.#fanOuts(page.changes, block), MAX_BATCH_CHARS).deliver(sub);
    if (page.changes.length < this.#limits().replayPageSize) sub.cursor = Math.max(sub.cursor, page.seq);
  }

  /** One delivery loop at a time; concurrent callers wait for the running one. */
  #pump(): Promise<void> {
    if (this.#pumping) return this.#pumping.then(() => (this.#pending.size > 0 || this.#behind ? this.#pump() : undefined));
    this.#pumping = this.#run().finally(() => {
      this.#pumping = null;
    });
    return this.#pumping;
  }

  async #run(): Promise<void> {
    const limit = this.#limits().replayPageSize;
    for (;;) {
      this.#drain();
      if (this.#pending.size === 0 && !this.#behind) return;
      if (this.#subs.size === 0 && !this.#behind) {
        // Nobody to deliver to: skip ahead without reading the log.
        this.#advance(Math.max(...this.#pending.keys()));
        return;
      }
      this.#behind = false;
      const before = this.#delivered;
      const page = await this.#source().changesSince(this.#delivered, { limit });
      if (this.#delivered < page.oldestSeq - 1) {
        // The log no longer reaches back to what we delivered: every live subscriber must refetch.
        this.#resetLive();
        this.#advance(page.oldestSeq - 1);
      }
      for (const change of page.changes) {
        if (change.seq > this.#delivered) this.#pending.set(change.seq, change);
      }
      this.#drain();
      if (page.changes.length >= limit) {
        this.#behind = true;
      } else {
        if (this.#delivered < page.seq) this.#advance(page.seq);
        this.#synced = true;
      }
      if (this.#delivered === before && page.changes.length === 0 && this.#pending.size > 0) {
        // The log has nothing for a gap it should cover: deliver what we hold, in order, rather than stall.
        this.#deliver([...this.#pending.values()].sort((a, b) => a.seq - b.seq));
        this.#pending.clear();
        this.#persist();
      }
    }
  }

  /** Delivers every pending change that directly follows the last delivered one. */
  #drain(): void {
    const run: Change[] = [];
    for (let next = this.#pending.get(this.#delivered + 1); next; next = this.#pending.get(next.seq + 1)) {
      this.#pending.delete(next.seq);
      run.push(next);
    }
    if (run.length === 0) return;
    this.#deliver(run);
    this.#persist();
  }

  /** Delivers a run of changes in seq order to every live subscription of their tables. */
  #deliver(run: Change[]): void {
    const delivery = new RunDelivery(this.#fanOuts(run, this.#block()), MAX_BATCH_CHARS);
    for (const table of delivery.tables) {
      for (const sub of this.#subs.forTable(table)) if (sub.live) delivery.deliver(sub);
    }
    this.#deliveryCost += delivery.cost;
    const last = run[run.length - 1];
    if (last) this.#delivered = Math.max(this.#delivered, last.seq);
  }

  #fanOuts(changes: Change[], block: Block): ChangeFanOut[] {
    return changes.map((change) => new ChangeFanOut(change, readCheckFor(block, change.table)));
  }

  #advance(seq: number): void {
    if (seq <= this.#delivered) return;
    this.#delivered = seq;
    for (const key of this.#pending.keys()) if (key <= seq) this.#pending.delete(key);
    this.#persist();
  }

  #persist(): void {
    this.#store.setDeliveredSeq(this.#delivered);
  }

  #resetLive(): void {
    for (const sub of this.#subs.all()) {
      if (sub.live) send(sub.conn, JSON.stringify({ type: "reset", sub: sub.id, reason: "history_truncated" }));
    }
  }
}
