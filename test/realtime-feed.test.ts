import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import config from "../actorbase.config";
import type { Connection } from "../objects/realtime/connection";
import type { ChangeSource } from "../objects/realtime/database";
import { ChangeFeed } from "../objects/realtime/feed";
import { DEFAULT_REALTIME_LIMITS } from "../objects/realtime/limits";
import { RealtimeStore } from "../objects/realtime/store";
import { ChangeFanOut, RunDelivery, type Subscription } from "../objects/realtime/subscriptions";
import { compileFilter } from "../objects/realtime/visibility";
import { parseBlock } from "../shared/block";
import type { Caller } from "../shared/caller";
import type { Change } from "../shared/change";
import { defineConfig } from "../shared/config";
import { tableColumns } from "../shared/query";
import { ruleAllowsRow } from "../shared/query-match";

const block = parseBlock("user:feed", config);
const service: Caller = { kind: "service" };

type FakeConnection = Connection & { frames: () => Array<Record<string, unknown>> };

function fakeConnection(id: string, caller: Caller): FakeConnection {
  const sent: string[] = [];
  const ws = { send: (frame: string) => sent.push(frame) } as unknown as WebSocket;
  return {
    ws,
    id,
    caller,
    authDeadline: 0,
    subscriptions: new Map(),
    channels: new Set(),
    queue: Promise.resolve(),
    tokens: 0,
    refilledAt: 0,
    closed: false,
    frames: () => sent.map((f) => JSON.parse(f) as Record<string, unknown>),
  };
}

function liveSubscription(conn: Connection, filter = "", batch = false): Subscription {
  return {
    conn,
    id: "s",
    table: "notes",
    filter,
    predicate: compileFilter(block, "notes", filter),
    batch,
    cursor: 0,
    live: true,
    ended: false,
  };
}

const change = (seq: number, title = `t${seq}`): Change => ({
  seq,
  table: "notes",
  op: "insert",
  id: `r${seq}`,
  row: { id: `r${seq}`, title },
});

/** A change log in memory with a configurable oldest seq, counting reads. */
function logOf(changes: Change[], oldestSeq = 1) {
  const source = {
    reads: 0,
    gate: Promise.resolve(),
    async listen() {
      return changes.at(-1)?.seq ?? 0;
    },
    async changesSince(since: number, options: { table?: string; limit?: number }) {
      source.reads++;
      await source.gate;
      const page = changes.filter((c) => c.seq > since && (!options.table || c.table === options.table)).slice(0, options.limit ?? 1000);
      return { changes: page, seq: changes.at(-1)?.seq ?? 0, oldestSeq };
    },
    async snapshot(): Promise<never> {
      throw new Error("not used");
    },
  };
  return source;
}

/** Runs a test body with a ChangeFeed over a fresh actor's SQLite. */
async function withFeed(name: string, source: ChangeSource, body: (feed: ChangeFeed) => Promise<void>): Promise<void> {
  const stub = env.REALTIME.get(env.REALTIME.idFromName(name));
  await runInDurableObject(stub, async (_instance, state) => {
    const feed = new ChangeFeed(
      new RealtimeStore(state.storage),
      () => source,
      () => block,
      () => DEFAULT_REALTIME_LIMITS,
    );
    await body(feed);
  });
}

const seqs = (conn: FakeConnection) =>
  conn
    .frames()
    .filter((f) => f.type === "change")
    .map((f) => f.seq);

describe("ChangeFeed", () => {
  it("delivers a hand-off that arrives ahead of an earlier one after backfilling the gap, and drops the late duplicate", async () => {
    const log = logOf([change(1), change(2), change(3)]);
    await withFeed("feed-order", log, async (feed) => {
      const conn = fakeConnection("c", service);
      feed.add(liveSubscription(conn));
      await feed.publish([change(1)]);
      await feed.publish([change(3)]);
      await feed.publish([change(2)]);
      expect(seqs(conn)).toEqual([1, 2, 3]);
      expect(feed.delivered).toBe(3);
    });
  });

  it("fills a lost hand-off from the log when the next one arrives", async () => {
    const log = logOf([change(1), change(2), change(3), change(4)]);
    await withFeed("feed-lost", log, async (feed) => {
      const conn = fakeConnection("c", service);
      feed.add(liveSubscription(conn));
      await feed.publish([change(1)]);
      await feed.publish([change(4)]);
      expect(seqs(conn)).toEqual([1, 2, 3, 4]);
    });
  });

  it("keeps order when hand-offs arrive while a backfill is reading the log", async () => {
    let open: () => void = () => {};
    const log = logOf([change(1), change(2), change(3), change(4), change(5)]);
    log.gate = new Promise<void>((resolve) => (open = resolve));
    await withFeed("feed-concurrent", log, async (feed) => {
      const conn = fakeConnection("c", service);
      feed.add(liveSubscription(conn));
      const first = feed.publish([change(3)]);
      const second = feed.publish([change(4), change(5)]);
      const third = feed.publish([change(2)]);
      open();
      await Promise.all([first, second, third]);
      expect(seqs(conn)).toEqual([1, 2, 3, 4, 5]);
    });
  });

  it("skips the log entirely while nobody subscribes", async () => {
    const log = logOf([change(1), change(2), change(3)]);
    await withFeed("feed-idle", log, async (feed) => {
      await feed.publish([change(3)]);
      expect(log.reads).toBe(0);
      expect(feed.delivered).toBe(3);
    });
  });

  it("resets live subscribers when it woke further behind than the log reaches, then continues in order", async () => {
    const log = logOf([change(5), change(6)], 5);
    await withFeed("feed-truncated", log, async (feed) => {
      const conn = fakeConnection("c", service);
      feed.add(liveSubscription(conn));
      await feed.catchUp();
      expect(conn.frames().map((f) => [f.type, f.seq ?? f.reason])).toEqual([
        ["reset", "history_truncated"],
        ["change", 5],
        ["change", 6],
      ]);
    });
  });
});

/** A namespace whose read rule shows a caller only the tasks assigned to it, and its read check. */
const assigned = defineConfig({
  namespaces: {
    team: {
      kind: "dynamic",
      rules: { read: ({ auth }) => (auth ? `assignee=eq.${auth.sub}` : false) },
      tables: { tasks: { columns: { title: { type: "string" }, assignee: { type: "string" } } } },
    },
  },
});
function assignedReadCheck(blockName: string) {
  const team = parseBlock(blockName, assigned);
  const columns = tableColumns(assigned.namespaces.team?.tables.tasks ?? { columns: {} });
  return (caller: Caller, row: Record<string, unknown>) => ruleAllowsRow(assigned, caller, team, "tasks", columns, "read", row);
}

describe("batch subscriptions", () => {
  const entriesOf = (frames: Array<Record<string, unknown>>) =>
    frames.filter((f) => f.type === "changes").map((f) => f.changes as Array<Record<string, unknown>>);

  it("get one changes frame per hand-off carrying, in seq order, exactly what change frames carry", async () => {
    const log = logOf([change(1), change(2), change(3), change(4)]);
    await withFeed("feed-batch", log, async (feed) => {
      const single = fakeConnection("one", service);
      const batched = fakeConnection("many", service);
      feed.add(liveSubscription(single));
      feed.add(liveSubscription(batched, "", true));
      await feed.publish([change(1), change(2), change(3)]);
      await feed.publish([change(4)]);
      const changeFrames = single.frames();
      expect(changeFrames.map((f) => f.seq)).toEqual([1, 2, 3, 4]);
      const batches = entriesOf(batched.frames());
      expect(batches.map((entries) => entries.map((e) => e.seq))).toEqual([[1, 2, 3], [4]]);
      expect(batched.frames().every((f) => f.sub === "s")).toBe(true);
      const { type: _type, sub: _sub, ...first } = changeFrames[0] as Record<string, unknown>;
      expect(batches[0]?.[0]).toEqual(first);
    });
  });

  it("get a backfilled gap in the same frame as the hand-off that revealed it", async () => {
    const log = logOf([change(1), change(2), change(3)]);
    await withFeed("feed-batch-gap", log, async (feed) => {
      const conn = fakeConnection("c", service);
      feed.add(liveSubscription(conn, "", true));
      await feed.publish([change(3)]);
      expect(entriesOf(conn.frames()).map((entries) => entries.map((e) => e.seq))).toEqual([[1, 2, 3]]);
    });
  });

  it("leave out what the filter hides and split a long run into frames of bounded size, order kept", () => {
    const conn = fakeConnection("c", service);
    const sub = liveSubscription(conn, "title=neq.skip", true);
    const run = [1, 2, 3, 4, 5, 6].map((seq) => new ChangeFanOut(change(seq, seq === 2 ? "skip" : `t${seq}`), () => true));
    new RunDelivery(run, 200).deliver(sub);
    expect(sub.cursor).toBe(6);
    const frames = entriesOf(conn.frames());
    expect(frames.length).toBeGreaterThan(1);
    expect(frames.flat().map((e) => e.seq)).toEqual([1, 3, 4, 5, 6]);
    for (const entries of frames) expect(entries.reduce((chars, e) => chars + JSON.stringify(e).length, 0)).toBeLessThanOrEqual(200);
  });

  it("give a subscription whose cursor is inside the run only what follows its cursor", () => {
    const fresh = fakeConnection("fresh", service);
    const ahead = fakeConnection("ahead", service);
    const subs = [liveSubscription(fresh, "", true), { ...liveSubscription(ahead, "", true), cursor: 3 }];
    const delivery = new RunDelivery(
      [1, 2, 3, 4, 5].map((seq) => new ChangeFanOut(change(seq), () => true)),
      64 * 1024,
    );
    for (const sub of subs) delivery.deliver(sub);
    expect(
      entriesOf(fresh.frames())
        .flat()
        .map((e) => e.seq),
    ).toEqual([1, 2, 3, 4, 5]);
    expect(
      entriesOf(ahead.frames())
        .flat()
        .map((e) => e.seq),
    ).toEqual([4, 5]);
    expect(subs.map((sub) => sub.cursor)).toEqual([5, 5]);
  });

  it("share one frame among subscriptions that see the same changes, and keep callers apart that do not", () => {
    const canRead = assignedReadCheck("team:t2");
    const user = (sub: string): Caller => ({ kind: "user", sub, claims: { sub }, expiresAt: Date.now() + 60_000 });
    const sent: string[] = [];
    const conns = ["dana", "dana", "erin"].map((name, i) => {
      const conn = fakeConnection(`c${i}`, user(name));
      (conn as { ws: WebSocket }).ws = { send: (frame: string) => sent.push(`${i} ${frame}`) } as unknown as WebSocket;
      return conn;
    });
    const subs = conns.map(
      (conn): Subscription => ({
        conn,
        id: "s",
        table: "tasks",
        filter: "",
        predicate: () => true,
        batch: true,
        cursor: 0,
        live: true,
        ended: false,
      }),
    );
    const rows = [
      { seq: 1, table: "tasks", op: "insert" as const, id: "1", row: { id: "1", title: "a", assignee: "dana" } },
      { seq: 2, table: "tasks", op: "insert" as const, id: "2", row: { id: "2", title: "b", assignee: "erin" } },
      {
        seq: 3,
        table: "tasks",
        op: "update" as const,
        id: "1",
        row: { id: "1", title: "a", assignee: "erin" },
        old: { id: "1", title: "a", assignee: "dana" },
      },
    ];
    const delivery = new RunDelivery(
      rows.map((c) => new ChangeFanOut(c, canRead)),
      64 * 1024,
    );
    for (const sub of subs) delivery.deliver(sub);
    const byConn = (i: number) =>
      sent
        .filter((line) => line.startsWith(`${i} `))
        .map((line) => JSON.parse(line.slice(2)) as { changes: Array<{ seq: number; op: string }> });
    expect(byConn(0).flatMap((f) => f.changes.map((e) => [e.seq, e.op]))).toEqual([
      [1, "insert"],
      [3, "delete"],
    ]);
    expect(byConn(1)).toEqual(byConn(0));
    expect(byConn(2).flatMap((f) => f.changes.map((e) => [e.seq, e.op]))).toEqual([
      [2, "insert"],
      [3, "insert"],
    ]);
    expect(delivery.frames).toBe(3);
  });
});

describe("ChangeFanOut with read rules that filter rows", () => {
  const dana: Caller = { kind: "user", sub: "dana", claims: {}, expiresAt: Date.now() + 60_000 };
  const canRead = assignedReadCheck("team:t1");
  const conn = fakeConnection("d", dana);
  const sub: Subscription = {
    conn,
    id: "s",
    table: "tasks",
    filter: "",
    predicate: () => true,
    batch: false,
    cursor: 0,
    live: true,
    ended: false,
  };
  const frame = (c: Change) => {
    const text = new ChangeFanOut(c, canRead).frameFor(sub);
    return text === null ? null : (JSON.parse(text) as Record<string, unknown>);
  };
  const mine = { id: "1", title: "a", assignee: "dana" };
  const theirs = { id: "1", title: "a", assignee: "erin" };

  it("shows rows the rule lets the caller read and hides the others", () => {
    expect(frame({ seq: 1, table: "tasks", op: "insert", id: "1", row: mine })).toMatchObject({ op: "insert", row: mine });
    expect(frame({ seq: 1, table: "tasks", op: "insert", id: "1", row: theirs })).toBeNull();
  });

  it("delivers an update that moves a row out of sight as a delete of the row the caller last saw", () => {
    const event = frame({ seq: 2, table: "tasks", op: "update", id: "1", row: theirs, old: mine });
    expect(event).toEqual({ type: "change", sub: "s", seq: 2, table: "tasks", op: "delete", row: mine });
  });

  it("delivers an update that brings a row into sight as an insert without the hidden old row", () => {
    const event = frame({ seq: 3, table: "tasks", op: "update", id: "1", row: mine, old: theirs });
    expect(event).toEqual({ type: "change", sub: "s", seq: 3, table: "tasks", op: "insert", row: mine });
  });

  it("checks deletes against the deleted row", () => {
    expect(frame({ seq: 4, table: "tasks", op: "delete", id: "1", row: theirs, old: theirs })).toBeNull();
    expect(frame({ seq: 5, table: "tasks", op: "delete", id: "1", row: mine, old: mine })).toMatchObject({ op: "delete", row: mine });
  });
});
