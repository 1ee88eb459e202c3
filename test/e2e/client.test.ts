import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { type ActorbaseClient, ActorbaseError, type TableChange, createClient } from "../../client/index";
import { baseUrl, token, unique } from "./helpers";
import { E2E_VARS } from "./secrets";

interface Note {
  title: string;
  body?: string | null;
  done?: boolean;
  priority?: number;
  tags?: string[] | null;
}

/** A `ws` WebSocket whose live instances a test can cut without a close handshake (a dropped network). */
class DroppableWebSocket extends WebSocket {
  static live = new Set<DroppableWebSocket>();
  constructor(url: string, protocols?: string | string[]) {
    super(url, protocols);
    DroppableWebSocket.live.add(this);
    this.on("close", () => DroppableWebSocket.live.delete(this));
  }
  static dropAll(): void {
    for (const ws of DroppableWebSocket.live) ws.terminate();
  }
}

const clients: ActorbaseClient[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) client.close();
});

async function userClient(sub: string, extra: Partial<Parameters<typeof createClient>[0]> = {}): Promise<ActorbaseClient> {
  const jwt = await token(sub);
  const client = createClient({
    url: baseUrl(),
    token: jwt,
    WebSocket: DroppableWebSocket,
    minReconnectDelayMs: 300,
    maxReconnectDelayMs: 600,
    ...extra,
  });
  clients.push(client);
  return client;
}

function serviceClient(): ActorbaseClient {
  const client = createClient({ url: baseUrl(), token: E2E_VARS.SERVICE_KEY, WebSocket });
  clients.push(client);
  return client;
}

async function until(check: () => boolean, timeoutMs = 8_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("client REST", () => {
  it("lists, gets, inserts, updates, deletes and batches with types and problem errors", async () => {
    const sub = unique("c");
    const block = (await userClient(sub)).db(`user:${sub}`);
    const notes = block.table<Note>("notes");
    const row = await notes.insert({ title: "Plan", priority: 2 });
    expect(row).toMatchObject({ title: "Plan", priority: 2, done: false, version: 1 });
    const many = await notes.insert([{ title: "a" }, { title: "b" }]);
    expect(many.map((r) => r.title)).toEqual(["a", "b"]);
    expect((await notes.update(row.id, { priority: { $inc: 3 } })).priority).toBe(5);
    expect(await notes.get(row.id)).toMatchObject({ priority: 5, version: 2 });
    const page = await notes.list({ order: "title.asc", limit: 2 });
    expect(page.items.map((r) => r.title)).toEqual(["Plan", "a"]);
    expect(page.seq).toBe(4);
    expect(await notes.delete(row.id)).toEqual({ id: row.id, deleted: true });
    const batch = await block.batch([
      { op: "insert", table: "notes", data: { title: "c" } },
      { op: "delete", table: "notes", id: many[0]?.id as string },
    ]);
    expect(batch.results).toHaveLength(2);
    const missing = await notes.get(row.id).catch((err: unknown) => err);
    expect(missing).toBeInstanceOf(ActorbaseError);
    expect(missing).toMatchObject({ status: 404 });
    const invalid = await notes.insert({ priority: 1 } as Note).catch((err: unknown) => err);
    expect(invalid).toMatchObject({ status: 422, code: "VALIDATION_FAILED" });
  });
});

describe("client subscriptions", () => {
  it("delivers only rows matching the filter, with deletes and updates leaving the filter as deletes", async () => {
    const sub = unique("c");
    const notes = (await userClient(sub)).db(`user:${sub}`).table<Note>("notes");
    const seen: TableChange<Note>[] = [];
    const subscription = notes.subscribe("priority=gte.3", (change) => seen.push(change));
    await subscription.ready;
    const low = await notes.insert({ title: "low", priority: 1 });
    const high = await notes.insert({ title: "high", priority: 4 });
    await notes.update(low.id, { title: "still low" });
    await notes.update(high.id, { priority: 0 });
    await notes.update(low.id, { priority: 9 });
    await notes.delete(low.id);
    await until(() => seen.length >= 4);
    expect(seen.map((c) => [c.op, c.row.title])).toEqual([
      ["insert", "high"],
      ["delete", "high"],
      ["insert", "still low"],
      ["delete", "still low"],
    ]);
  });

  it("gives a snapshot, then the stream after it with no gap and no overlap", async () => {
    const sub = unique("c");
    const notes = (await userClient(sub)).db(`user:${sub}`).table<Note>("notes");
    await notes.insert([{ title: "one" }, { title: "two" }]);
    const snapshots: Array<{ titles: string[]; seq: number }> = [];
    const seen: TableChange<Note>[] = [];
    const subscription = notes.subscribe("", (change) => seen.push(change), {
      snapshot: true,
      onSnapshot: (rows, seq) => snapshots.push({ titles: rows.map((r) => r.title), seq }),
    });
    await subscription.ready;
    expect(snapshots).toEqual([{ titles: ["one", "two"], seq: 2 }]);
    await notes.insert({ title: "three" });
    await until(() => seen.length === 1);
    expect(seen[0]).toMatchObject({ op: "insert", seq: 3, row: { title: "three" } });
  });

  it("resumes after a dropped connection with writes in between: every change exactly once, in order", async () => {
    const sub = unique("c");
    const writer = serviceClient().db(`user:${sub}`).table<Note>("notes");
    const notes = (await userClient(sub)).db(`user:${sub}`).table<Note>("notes");
    const seen: number[] = [];
    const subscription = notes.subscribe("", (change) => seen.push(change.seq));
    await subscription.ready;
    let written = 0;
    const write = async (count: number) => {
      for (let i = 0; i < count; i++) await writer.insert({ title: `n${++written}` });
    };
    await write(5);
    await until(() => seen.length === 5);
    DroppableWebSocket.dropAll();
    await write(10); // while the client is reconnecting
    await until(() => seen.length >= 15);
    DroppableWebSocket.dropAll();
    await Promise.all([write(10), new Promise((r) => setTimeout(r, 50)).then(() => DroppableWebSocket.dropAll())]);
    await until(() => seen.length >= 25, 15_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
  });

  it("rejects a subscription with a bad filter through ready and onError", async () => {
    const sub = unique("c");
    const notes = (await userClient(sub)).db(`user:${sub}`).table<Note>("notes");
    const errors: string[] = [];
    const subscription = notes.subscribe("nope=eq.1", () => {}, { onError: (err) => errors.push(err.code) });
    await expect(subscription.ready).rejects.toMatchObject({ code: "UNKNOWN_COLUMN" });
    expect(errors).toEqual(["UNKNOWN_COLUMN"]);
  });

  it("reports a forbidden block through onError and stops reconnecting", async () => {
    const client = await userClient("intruder");
    const realtime = client.db(`user:${unique("c")}`).realtime;
    const errors: string[] = [];
    realtime.onError((err) => errors.push(err.code));
    await until(() => errors.length > 0);
    expect(errors).toEqual(["FORBIDDEN"]);
  });

  it("refuses a caller outside the workspace with FORBIDDEN", async () => {
    const ws = unique("w");
    const client = createClient({ url: baseUrl(), token: await token("outsider", { workspaces: ["other"] }), WebSocket });
    clients.push(client);
    const errors: string[] = [];
    client.db(`workspace:${ws}`).realtime.onError((err) => errors.push(err.code));
    await until(() => errors.length > 0);
    expect(errors).toEqual(["FORBIDDEN"]);
  });
});

describe("client channels", () => {
  it("broadcasts to the other sockets of the block", async () => {
    const ws = unique("w");
    const make = async (sub: string) => {
      const client = createClient({ url: baseUrl(), token: await token(sub, { workspaces: [ws] }), WebSocket });
      clients.push(client);
      const realtime = client.db(`workspace:${ws}`).realtime;
      await realtime.ready();
      return realtime;
    };
    const [ann, ben] = [await make("ann"), await make("ben")];
    const got: unknown[] = [];
    ben.channel("cursors").on("move", (payload, meta) => got.push({ payload, from: meta.from }));
    ann.channel("cursors").send("move", { x: 3 });
    await until(() => got.length === 1);
    expect(got).toEqual([{ payload: { x: 3 }, from: ann.connectionId }]);
  });

  it("tracks presence joins and leaves, and rejoins after a reconnect", async () => {
    const ws = unique("w");
    const make = async (sub: string) => {
      const client = createClient({
        url: baseUrl(),
        token: await token(sub, { workspaces: [ws] }),
        WebSocket: DroppableWebSocket,
        minReconnectDelayMs: 200,
        maxReconnectDelayMs: 400,
      });
      clients.push(client);
      const realtime = client.db(`workspace:${ws}`).realtime;
      await realtime.ready();
      return { client, realtime };
    };
    const ann = await make("ann");
    const room = ann.realtime.channel("room");
    room.track({ name: "Ann" });
    await until(() => Object.keys(room.members()).length === 1);
    const ben = await make("ben");
    const benRoom = ben.realtime.channel("room");
    benRoom.track({ name: "Ben" });
    await until(() => Object.keys(room.members()).length === 2 && Object.keys(benRoom.members()).length === 2);
    expect(Object.values(room.members())).toEqual(expect.arrayContaining([{ name: "Ann" }, { name: "Ben" }]));
    const benId = ben.realtime.connectionId as string;
    ben.client.close();
    await until(() => !(benId in room.members()));
    expect(Object.values(room.members())).toEqual([{ name: "Ann" }]);
    await expect(ann.realtime.ping()).resolves.toBeGreaterThanOrEqual(0);
  });
});

describe("client auth", () => {
  it("refreshes through getToken and keeps subscriptions across the server closing an expired socket", async () => {
    const sub = unique("c");
    let calls = 0;
    const client = createClient({
      url: baseUrl(),
      WebSocket,
      minReconnectDelayMs: 200,
      getToken: () => token(sub, {}, ++calls === 1 ? 2 : 3600),
    });
    clients.push(client);
    const notes = client.db(`user:${sub}`).table<Note>("notes");
    const seen: number[] = [];
    await notes.subscribe("", (change) => seen.push(change.seq)).ready;
    await new Promise((r) => setTimeout(r, 3_000)); // the first token expired: closed with 4401, reconnected
    const writer = createClient({ url: baseUrl(), token: E2E_VARS.SERVICE_KEY });
    await writer.db(`user:${sub}`).table<Note>("notes").insert({ title: "after expiry" });
    await until(() => seen.length === 1);
    expect(seen).toEqual([1]);
    expect(calls).toBeGreaterThanOrEqual(2);
  });
});
