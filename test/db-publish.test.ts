import { env } from "cloudflare:workers";
import { abortAllDurableObjects, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Change } from "../shared/change";
import { RealtimeDO } from "../objects/realtime/realtime-do";
import { SERVICE, call, jsonInit, token } from "./helpers/http";
import { type TestSocket, connect } from "./helpers/realtime";

afterEach(() => vi.restoreAllMocks());

/** The name a RealtimeDO instance was reached by (`ctx` is protected on DurableObject). */
const nameOf = (actor: RealtimeDO) => (actor as unknown as { ctx: DurableObjectState }).ctx.id.name;

describe("DatabaseDO realtime hand-off", () => {
  it("hands each committed group of changes to the block's RealtimeDO, in seq order, once", async () => {
    const received: { block: string; seqs: number[] }[] = [];
    vi.spyOn(RealtimeDO.prototype, "publish").mockImplementation(async function (this: RealtimeDO, changes: Change[]) {
      received.push({ block: nameOf(this) ?? "", seqs: changes.map((c) => c.seq) });
      return true;
    });
    const block = "user:publish1";
    await env.DATABASE.getByName(block).listen(); // as a subscription starting does
    await call(`/api/db/${block}/tables/notes`, jsonInit("POST", [{ title: "a" }, { title: "b" }], SERVICE));
    await call(`/api/db/${block}/tables/notes`, jsonInit("POST", { title: "c" }, SERVICE));
    await call(`/api/db/${block}/tables/notes`, jsonInit("POST", { priority: 1 }, SERVICE)); // 422: nothing committed
    await vi.waitFor(() => expect(received.flatMap((r) => r.seqs)).toEqual([1, 2, 3]));
    expect(received[0]).toEqual({ block, seqs: [1, 2] });
    expect(received.every((r) => r.block === block)).toBe(true);
  });

  it("keeps writes working when the hand-off fails", async () => {
    vi.spyOn(RealtimeDO.prototype, "publish").mockRejectedValue(new Error("realtime down"));
    vi.spyOn(console, "error").mockImplementation(() => {});
    const response = await call("/api/db/user:publish2/tables/notes", jsonInit("POST", { title: "a" }, SERVICE));
    expect(response.status).toBe(201);
    const list = await call("/api/db/user:publish2/tables/notes", { headers: SERVICE });
    expect(((await list.json()) as { items: unknown[] }).items).toHaveLength(1);
  });

  it("hands nothing off while nobody subscribes, and a subscriber that comes later misses nothing", async () => {
    const block = "user:publish3";
    const publishes: number[][] = [];
    const publish = RealtimeDO.prototype.publish;
    vi.spyOn(RealtimeDO.prototype, "publish").mockImplementation(async function (this: RealtimeDO, changes: Change[]) {
      publishes.push(changes.map((c) => c.seq));
      return publish.call(this, changes);
    });
    // Nobody ever subscribed: no hand-off, and the block's RealtimeDO is never woken.
    for (const title of ["first", "second", "third", "fourth"]) await insert(block, title);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(publishes).toEqual([]);

    const resumed = await owner(block);
    resumed.send({ type: "subscribe", id: "since", table: "notes", since: 1 });
    expect(await resumed.next("subscribed")).toMatchObject({ seq: 1 });
    expect((await nextChanges(resumed, 3)).map((c) => [c.seq, c.row.title])).toEqual([
      [2, "second"],
      [3, "third"],
      [4, "fourth"],
    ]);
    const fresh = await owner(block);
    fresh.send({ type: "subscribe", id: "now", table: "notes" });
    expect(await fresh.next("subscribed")).toMatchObject({ seq: 4 });
    await insert(block, "fifth");
    expect((await nextChanges(resumed, 1)).map((c) => c.seq)).toEqual([5]);
    expect((await nextChanges(fresh, 1)).map((c) => c.seq)).toEqual([5]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(resumed.messages.filter((m) => m.type === "change")).toHaveLength(4); // nothing twice
    expect(fresh.messages.filter((m) => m.type === "change")).toHaveLength(1); // nothing from before it subscribed

    // Both leave: the next hand-off learns it and the one after is not made.
    resumed.ws.close(1000, "bye");
    fresh.ws.close(1000, "bye");
    await new Promise((resolve) => setTimeout(resolve, 100));
    await insert(block, "sixth");
    await vi.waitFor(() => expect(publishes.at(-1)).toEqual([6]));
    const count = publishes.length;
    await insert(block, "seventh");
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(publishes).toHaveLength(count);
  });

  it("starts handing off again for a subscription that starts while a 'nobody subscribes' answer is on its way", async () => {
    const block = "user:publish4";
    let held = false;
    const publish = RealtimeDO.prototype.publish;
    vi.spyOn(RealtimeDO.prototype, "publish").mockImplementation(async function (this: RealtimeDO, changes: Change[]) {
      const answer = await publish.call(this, changes);
      if (!held && !answer) {
        // The first answer ("nobody subscribes") reaches the DatabaseDO only after a subscription has started.
        held = true;
        await scheduler.wait(500);
      }
      return answer;
    });
    await env.DATABASE.getByName(block).listen(); // a subscription came and went
    await insert(block, "first");
    await vi.waitFor(() => expect(held).toBe(true));
    const socket = await owner(block);
    socket.send({ type: "subscribe", id: "s", table: "notes" });
    expect(await socket.next("subscribed")).toMatchObject({ seq: 1 });
    await new Promise((resolve) => setTimeout(resolve, 700)); // the stale answer has arrived
    await insert(block, "second");
    expect((await nextChanges(socket, 1)).map((c) => [c.seq, c.row.title])).toEqual([[2, "second"]]);
  });
});

describe("whether a block hands off, across restarts", () => {
  function recordPublishes(): number[][] {
    const publishes: number[][] = [];
    vi.spyOn(RealtimeDO.prototype, "publish").mockImplementation(async (changes: Change[]) => {
      publishes.push(changes.map((c) => c.seq));
      return true;
    });
    return publishes;
  }

  it("a block with a subscription keeps handing off after its DatabaseDO restarts", async () => {
    const block = "user:publish5";
    await env.DATABASE.getByName(block).listen();
    await abortAllDurableObjects();
    const publishes = recordPublishes();
    await insert(block, "after restart");
    await vi.waitFor(() => expect(publishes).toEqual([[1]]));
  });

  it("a block that stopped handing off stays stopped after a restart, until the next subscription", async () => {
    const block = "user:publish6";
    await env.DATABASE.getByName(block).listen();
    await insert(block, "first"); // the real RealtimeDO answers that nobody subscribes
    await new Promise((resolve) => setTimeout(resolve, 100));
    await abortAllDurableObjects();
    const publishes = recordPublishes();
    await insert(block, "second");
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(publishes).toEqual([]);
    await env.DATABASE.getByName(block).listen();
    await insert(block, "third");
    await vi.waitFor(() => expect(publishes).toEqual([[3]]));
  });

  it("a block written before the flag existed hands off once to find out", async () => {
    const block = "user:publish7";
    await insert(block, "first");
    await runInDurableObject(env.DATABASE.getByName(block), (_instance, state) => {
      state.storage.sql.exec("DELETE FROM _meta WHERE key = 'listening'"); // as an older version left it
    });
    await abortAllDurableObjects();
    const publishes = recordPublishes();
    await insert(block, "second");
    await vi.waitFor(() => expect(publishes).toEqual([[2]]));
  });
});

async function owner(block: string): Promise<TestSocket> {
  const socket = await connect(block, { protocols: ["actorbase.v1", `bearer.${await token(block.split(":")[1] as string)}`] });
  await socket.next("ready");
  return socket;
}

async function insert(block: string, title: string): Promise<void> {
  const response = await call(`/api/db/${block}/tables/notes`, jsonInit("POST", { title }, SERVICE));
  expect(response.status, await response.clone().text()).toBe(201);
}

/** The next `count` changes a socket receives, whether sent one per frame or batched. */
async function nextChanges(socket: TestSocket, count: number): Promise<Array<{ seq: number; row: Record<string, unknown> }>> {
  const out: Array<{ seq: number; row: Record<string, unknown> }> = [];
  while (out.length < count) {
    const frame = await socket.next();
    if (frame.type === "change") out.push(frame);
    else if (frame.type === "changes") out.push(...frame.changes);
  }
  return out;
}
