import { env } from "cloudflare:workers";
import { abortAllDurableObjects, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { RealtimeDO } from "../objects/realtime/realtime-do";
import type { ChangeEvent, ChangesEvent } from "../shared/protocol";
import { SERVICE, call, jsonInit, token } from "./helpers/http";
import { type TestSocket, connect, settle } from "./helpers/realtime";

type Row = Record<string, unknown> & { id: string };

async function insert(block: string, data: Record<string, unknown>): Promise<Row> {
  const response = await call(`/api/db/${block}/tables/notes`, jsonInit("POST", data, SERVICE));
  expect(response.status).toBe(201);
  return (await response.json()) as Row;
}

async function update(block: string, id: string, data: Record<string, unknown>): Promise<Row> {
  const response = await call(`/api/db/${block}/tables/notes/${id}`, jsonInit("PATCH", data, SERVICE));
  expect(response.status).toBe(200);
  return (await response.json()) as Row;
}

async function remove(block: string, id: string): Promise<void> {
  expect((await call(`/api/db/${block}/tables/notes/${id}`, { method: "DELETE", headers: SERVICE })).status).toBe(200);
}

async function owner(block: string): Promise<TestSocket> {
  const sub = block.split(":")[1] as string;
  const socket = await connect(block, { protocols: ["actorbase.v1", `bearer.${await token(sub)}`] });
  await socket.next("ready");
  return socket;
}

/** Collects the next `count` change frames, then checks no further change arrives for a moment. */
async function changes(socket: TestSocket, count: number): Promise<ChangeEvent[]> {
  const out: ChangeEvent[] = [];
  for (let i = 0; i < count; i++) out.push(await socket.next("change"));
  await settle();
  const all = socket.messages.filter((m) => m.type === "change");
  expect(all.slice(all.indexOf(out[out.length - 1] as ChangeEvent) + 1)).toEqual([]);
  return out;
}

const summary = (events: ChangeEvent[]) => events.map((e) => [e.seq, e.op, (e.row as Row).title]);

describe("RealtimeDO subscriptions", () => {
  it("delivers inserts, updates and deletes of its table in seq order, with the old row on updates", async () => {
    const block = "user:sub1";
    const socket = await owner(block);
    socket.send({ type: "subscribe", id: "s1", table: "notes" });
    expect(await socket.next("subscribed")).toEqual({ type: "subscribed", id: "s1", seq: 0 });
    const row = await insert(block, { title: "a" });
    await update(block, row.id, { title: "b" });
    await remove(block, row.id);
    const events = await changes(socket, 3);
    expect(summary(events)).toEqual([
      [1, "insert", "a"],
      [2, "update", "b"],
      [3, "delete", "b"],
    ]);
    expect(events[1]).toMatchObject({ type: "change", sub: "s1", table: "notes", old: { title: "a" } });
    expect(events[2]?.old).toBeUndefined();
  });

  it("applies the filter, turning an update that leaves it into a delete and one that enters it into an insert", async () => {
    const block = "user:sub2";
    const socket = await owner(block);
    socket.send({ type: "subscribe", id: "open", table: "notes", filter: "done=eq.false&priority=gte.3" });
    await socket.next("subscribed");
    const low = await insert(block, { title: "low", priority: 1 });
    const high = await insert(block, { title: "high", priority: 5 });
    await update(block, high.id, { done: true });
    await update(block, low.id, { priority: 4 });
    await remove(block, high.id);
    const events = await changes(socket, 3);
    expect(events.map((e) => [e.seq, e.op, e.row.title, e.row.done])).toEqual([
      [2, "insert", "high", false],
      [3, "delete", "high", false],
      [4, "insert", "low", false],
    ]);
    await settle();
    expect(socket.messages.filter((m) => m.type === "change")).toHaveLength(3);
  });

  it("refuses a malformed filter, an unknown table and a duplicate id with error frames naming the subscription", async () => {
    const socket = await owner("user:sub3");
    socket.send({ type: "subscribe", id: "bad", table: "notes", filter: "nope=eq.1" });
    expect(await socket.next("error")).toMatchObject({ code: "UNKNOWN_COLUMN", ref: "bad" });
    socket.send({ type: "subscribe", id: "t", table: "ghosts" });
    expect(await socket.next("error")).toMatchObject({ code: "TABLE_NOT_FOUND", ref: "t" });
    socket.send({ type: "subscribe", id: "ok", table: "notes" });
    await socket.next("subscribed");
    socket.send({ type: "subscribe", id: "ok", table: "notes" });
    expect(await socket.next("error")).toMatchObject({ code: "SUBSCRIPTION_EXISTS", ref: "ok" });
  });

  it("stops delivering after unsubscribe", async () => {
    const block = "user:sub4";
    const socket = await owner(block);
    socket.send({ type: "subscribe", id: "s", table: "notes" });
    await socket.next("subscribed");
    socket.send({ type: "unsubscribe", id: "s" });
    await settle(50);
    await insert(block, { title: "unseen" });
    await settle();
    expect(socket.messages.filter((m) => m.type === "change")).toEqual([]);
  });

  it("replays from since, then goes live with no gap and no overlap", async () => {
    const block = "user:sub5";
    for (const title of ["a", "b", "c"]) await insert(block, { title });
    const socket = await owner(block);
    socket.send({ type: "subscribe", id: "s", table: "notes", since: 1 });
    expect(await socket.next("subscribed")).toMatchObject({ id: "s", seq: 1 });
    await insert(block, { title: "d" });
    expect(summary(await changes(socket, 3))).toEqual([
      [2, "insert", "b"],
      [3, "insert", "c"],
      [4, "insert", "d"],
    ]);
    await settle();
    expect(socket.messages.filter((m) => m.type === "change")).toHaveLength(3);
  });

  it("answers a snapshot consistent with the changes that follow it", async () => {
    const block = "user:sub6";
    await insert(block, { title: "a", priority: 5 });
    await insert(block, { title: "b", priority: 1 });
    const socket = await owner(block);
    socket.send({ type: "subscribe", id: "s", table: "notes", filter: "priority=gte.3", snapshot: true });
    const subscribed = await socket.next("subscribed");
    expect(subscribed.seq).toBe(2);
    expect(subscribed.snapshot?.map((r) => r.title)).toEqual(["a"]);
    await insert(block, { title: "c", priority: 9 });
    expect(summary(await changes(socket, 1))).toEqual([[3, "insert", "c"]]);
  });

  it("sends reset when since is older than the kept change log, then continues live", async () => {
    const block = "user:sub7";
    for (const title of ["a", "b", "c"]) await insert(block, { title });
    const db = env.DATABASE.get(env.DATABASE.idFromName(block));
    await runInDurableObject(db, (_instance, state) => {
      state.storage.sql.exec("DELETE FROM _changes WHERE seq <= 2");
    });
    const socket = await owner(block);
    socket.send({ type: "subscribe", id: "s", table: "notes", since: 0 });
    expect(await socket.next("reset")).toEqual({ type: "reset", sub: "s", reason: "history_truncated" });
    expect(await socket.next("subscribed")).toMatchObject({ id: "s", seq: 3 });
    await insert(block, { title: "d" });
    expect(summary(await changes(socket, 1))).toEqual([[4, "insert", "d"]]);
  });

  it("loses nothing when the actor restarts between a write and its delivery: a resumed subscription gets it once", async () => {
    const block = "user:sub9";
    const first = await owner(block);
    first.send({ type: "subscribe", id: "s", table: "notes" });
    await first.next("subscribed");
    await insert(block, { title: "seen" });
    const [seen] = await changes(first, 1);
    // Abort right after the write commits: its hand-off to the RealtimeDO is still in flight.
    await insert(block, { title: "in flight" });
    await abortAllDurableObjects();
    await first.closed;
    const second = await owner(block);
    second.send({ type: "subscribe", id: "s", table: "notes", since: seen?.seq });
    await second.next("subscribed");
    await insert(block, { title: "after" });
    expect(summary(await changes(second, 2))).toEqual([
      [2, "insert", "in flight"],
      [3, "insert", "after"],
    ]);
  });

  it("catches up a fresh actor behind the block before a live subscription starts", async () => {
    const block = "user:sub10";
    await insert(block, { title: "old" });
    const realtime = env.REALTIME.get(env.REALTIME.idFromName(block));
    await runInDurableObject(realtime, (_instance, state) => {
      state.storage.kv.put("delivered_seq", 0);
    });
    await abortAllDurableObjects();
    const socket = await owner(block);
    socket.send({ type: "subscribe", id: "s", table: "notes" });
    expect(await socket.next("subscribed")).toMatchObject({ seq: 1 });
    await insert(block, { title: "new" });
    expect(summary(await changes(socket, 1))).toEqual([[2, "insert", "new"]]);
  });
});

describe("RealtimeDO batch subscriptions", () => {
  const seqsOf = (event: ChangesEvent) => event.changes.map((c) => c.seq);

  it("delivers one committed group as one changes frame, and replays since in one frame per page", async () => {
    const block = "user:batch1";
    const socket = await owner(block);
    socket.send({ type: "subscribe", id: "b", table: "notes", batch: true });
    await socket.next("subscribed");
    const ops = ["a", "b", "c"].map((title) => ({ op: "insert", table: "notes", data: { title } }));
    expect((await call(`/api/db/${block}/batch`, jsonInit("POST", { ops }, SERVICE))).status).toBe(200);
    const live = await socket.next("changes");
    expect(live.sub).toBe("b");
    expect(live.changes.map((c) => [c.seq, c.op, c.table, (c.row as Row).title])).toEqual([
      [1, "insert", "notes", "a"],
      [2, "insert", "notes", "b"],
      [3, "insert", "notes", "c"],
    ]);
    expect(socket.messages.filter((m) => m.type === "change")).toEqual([]);

    const again = await owner(block);
    again.send({ type: "subscribe", id: "r", table: "notes", since: 1, batch: true });
    expect(await again.next("subscribed")).toMatchObject({ seq: 1 });
    expect(seqsOf(await again.next("changes"))).toEqual([2, 3]);
  });

  it("spaces hand-offs after busy deliveries, so writes committed meanwhile arrive together", async () => {
    const block = "user:batch2";
    const socket = await owner(block);
    socket.send({ type: "subscribe", id: "b", table: "notes", batch: true });
    await socket.next("subscribed");
    const realtime = env.REALTIME.get(env.REALTIME.idFromName(block));
    // A budget of one frame a second: the first frame is the burst, the second costs a 300 ms pause.
    await runInDurableObject(realtime, (instance: RealtimeDO) => {
      instance.limits = { ...instance.limits, deliveryFramesPerSecond: 1, maxHandOffDelayMs: 300 };
    });
    await insert(block, { title: "first" });
    expect(seqsOf(await socket.next("changes"))).toEqual([1]);
    await insert(block, { title: "second" });
    expect(seqsOf(await socket.next("changes"))).toEqual([2]);
    for (const title of ["x", "y", "z"]) await insert(block, { title });
    expect(seqsOf(await socket.next("changes"))).toEqual([3, 4, 5]);
    await settle();
    expect(socket.messages.filter((m) => m.type === "changes")).toHaveLength(3);
  });

  it("owes at most one longest wait after a burst, and never holds a hand-off that sent nothing", async () => {
    const block = "user:batch4";
    const socket = await owner(block);
    socket.send({ type: "subscribe", id: "p", table: "notes" });
    await socket.next("subscribed");
    const realtime = env.REALTIME.get(env.REALTIME.idFromName(block));
    await runInDurableObject(realtime, (instance: RealtimeDO) => {
      instance.limits = { ...instance.limits, deliveryFramesPerSecond: 10, maxHandOffDelayMs: 200 };
    });
    // 100 change frames against a budget of 10 a second: 90 over, but the debt stops at 200 ms of budget.
    const ops = Array.from({ length: 100 }, (_, i) => ({ op: "insert", table: "notes", data: { title: `b${i}` } }));
    expect((await call(`/api/db/${block}/batch`, jsonInit("POST", { ops }, SERVICE))).status).toBe(200);
    for (let i = 0; i < 100; i++) await socket.next("change");
    let started = Date.now();
    await realtime.publish([]);
    expect(Date.now() - started).toBeLessThan(100);
    await settle(400);
    await insert(block, { title: "after the burst" });
    expect(await socket.next("change")).toMatchObject({ seq: 101 });
    started = Date.now();
    await insert(block, { title: "next" });
    expect(await socket.next("change")).toMatchObject({ seq: 102 });
    expect(Date.now() - started).toBeLessThan(150);
  });

  it("refuses a batch flag that is not a boolean", async () => {
    const socket = await owner("user:batch3");
    socket.send({ type: "subscribe", id: "b", table: "notes", batch: "yes" });
    expect(await socket.next("error")).toMatchObject({ code: "INVALID_MESSAGE", ref: "b" });
  });
});
