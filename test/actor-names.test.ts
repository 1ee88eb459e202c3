/**
 * Actors know their block from the name they were reached by (`ctx.id.name`), not from their
 * callers or their storage: a new name serves its namespace, a restart keeps it, an alarm that
 * wakes an actor without its name still does its work, and an actor with no name says so.
 */
import { env } from "cloudflare:workers";
import { abortAllDurableObjects, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { type DatabaseRpc, databaseFor } from "../objects/database/contract";
import { DatabaseDO } from "../objects/database/database-do";
import { RealtimeDO } from "../objects/realtime/realtime-do";
import type { Caller } from "../shared/caller";
import type { ChangeEvent } from "../shared/protocol";
import { SERVICE, call, jsonInit, token } from "./helpers/http";
import { type TestSocket, connect } from "./helpers/realtime";

afterEach(() => vi.restoreAllMocks());

const service: Caller = { kind: "service" };

/** The name an actor instance was reached by, as the runtime gave it (`ctx` is protected on DurableObject). */
const nameOf = (actor: DatabaseDO | RealtimeDO) => (actor as unknown as { ctx: DurableObjectState }).ctx.id.name;

async function owner(block: string): Promise<TestSocket> {
  const socket = await connect(block, { protocols: ["actorbase.v1", `bearer.${await token(block.split(":")[1] as string)}`] });
  await socket.next("ready");
  return socket;
}

async function insert(block: string, title: string, headers: Record<string, string> = {}): Promise<void> {
  const response = await call(`/api/db/${block}/tables/notes`, jsonInit("POST", { title }, { ...SERVICE, ...headers }));
  expect(response.status, await response.clone().text()).toBe(201);
}

/** Records each run of `alarm()` on one actor class: the name the instance had and whether it threw. */
function watchAlarms(actor: typeof DatabaseDO | typeof RealtimeDO): Array<{ name: string | undefined; error: unknown }> {
  const runs: Array<{ name: string | undefined; error: unknown }> = [];
  const alarm = actor.prototype.alarm;
  vi.spyOn(actor.prototype, "alarm").mockImplementation(async function (this: DatabaseDO | RealtimeDO) {
    const name = nameOf(this);
    try {
      await alarm.call(this);
      runs.push({ name, error: null });
    } catch (error) {
      runs.push({ name, error });
      throw error;
    }
  });
  return runs;
}

describe("DatabaseDO name", () => {
  it("serves the tables of the namespace it is named in, and hands a write to the RealtimeDO of the same name", async () => {
    const block = "user:names-a";
    const socket = await owner(block);
    socket.send({ type: "subscribe", id: "s", table: "notes" });
    await socket.next("subscribed");
    await insert(block, "first");
    expect(await socket.next("change")).toMatchObject({ sub: "s", seq: 1, op: "insert", row: { title: "first" } });
    // Called over RPC, past the Worker's own table check: the actor's namespace comes from its name.
    const notes = await databaseFor(env, block).list(service, "notes", "");
    expect(notes.ok && notes.value.items.map((r) => r.title)).toEqual(["first"]);
    const elsewhere = await databaseFor(env, "workspace:names-a").list(service, "notes", "");
    expect(elsewhere.ok || elsewhere.problem).toMatchObject({
      status: 404,
      code: "TABLE_NOT_FOUND",
      detail: expect.stringContaining('namespace "workspace"'),
    });
  });

  it("prefers the runtime's name to the one it remembered, and corrects a stale copy", async () => {
    const block = "user:names-b";
    await runInDurableObject(env.DATABASE.getByName(block), (_instance, state) => {
      state.storage.sql.exec(
        `INSERT INTO _meta (key, value) VALUES ('block', ?)`,
        JSON.stringify({ name: "user:someone-else", namespace: "user", id: "someone-else" }),
      );
    });
    await insert(block, "mine");
    const list = await call(`/api/db/${block}/tables/notes`, { headers: { Authorization: `Bearer ${await token("names-b")}` } });
    expect(list.status).toBe(200);
    expect(((await list.json()) as { items: Array<{ title: string }> }).items.map((r) => r.title)).toEqual(["mine"]);
    await runInDurableObject(env.DATABASE.getByName(block), (_instance, state) => {
      const stored = state.storage.sql.exec<{ value: string }>(`SELECT value FROM _meta WHERE key = 'block'`).one().value;
      expect(JSON.parse(stored)).toMatchObject({ name: block });
    });
  });

  it("still knows its block after a restart, as does its RealtimeDO: a read, a write and a new subscription work", async () => {
    const block = "user:names-c";
    const first = await owner(block);
    first.send({ type: "subscribe", id: "s", table: "notes" });
    await first.next("subscribed");
    await insert(block, "before");
    await first.next("change");
    await abortAllDurableObjects();
    await first.closed;
    const list = await call(`/api/db/${block}/tables/notes`, { headers: SERVICE });
    expect(list.status).toBe(200);
    expect(((await list.json()) as { seq: number }).seq).toBe(1);
    const second = await owner(block);
    second.send({ type: "subscribe", id: "s", table: "notes", since: 1 });
    expect(await second.next("subscribed")).toMatchObject({ seq: 1 });
    await insert(block, "after");
    const change = (await second.next("change")) as ChangeEvent;
    expect([change.seq, change.row.title]).toEqual([2, "after"]);
  });

  it("runs an alarm that wakes it after a restart, without its name: expired idempotency records go and the next expiry is scheduled", async () => {
    const block = "user:names-d";
    await insert(block, "old", { "Idempotency-Key": "expired" });
    await insert(block, "new", { "Idempotency-Key": "kept" });
    const kept = await runInDurableObject(env.DATABASE.getByName(block), async (_instance, state) => {
      state.storage.sql.exec(`UPDATE _idempotency SET expiresAt = ? WHERE key LIKE '%|expired'`, Date.now() - 1);
      await state.storage.setAlarm(Date.now() + 500);
      return state.storage.sql.exec<{ expiresAt: number }>(`SELECT expiresAt FROM _idempotency WHERE key LIKE '%|kept'`).one().expiresAt;
    });
    const runs = watchAlarms(DatabaseDO);
    await abortAllDurableObjects();
    // Not runDurableObjectAlarm: it reaches the actor through a named stub. Only an alarm the runtime
    // fires itself wakes a restarted actor with no `ctx.id.name` (workerd#6850).
    await vi.waitFor(() => expect(runs).toHaveLength(1), { timeout: 5_000 });
    expect(runs).toEqual([{ name: undefined, error: null }]);
    await runInDurableObject(env.DATABASE.getByName(block), async (_instance, state) => {
      expect(state.storage.sql.exec(`SELECT expiresAt FROM _idempotency`).toArray()).toEqual([{ expiresAt: kept }]);
      expect(await state.storage.getAlarm()).toBe(kept);
    });
    // The instance the alarm woke stays nameless for every later request: it serves them from the name it remembered.
    await insert(block, "after the alarm");
    const list = await call(`/api/db/${block}/tables/notes?order=title.asc`, { headers: SERVICE });
    expect(((await list.json()) as { items: Array<{ title: string }> }).items.map((r) => r.title)).toEqual([
      "after the alarm",
      "new",
      "old",
    ]);
  });

  it("answers a clear error, not a hang, when reached by an id made without a name", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const actor: DatabaseRpc = env.DATABASE.get(env.DATABASE.newUniqueId());
    const read = await actor.list(service, "notes", "");
    const write = await actor.insert(service, "notes", { title: "x" });
    for (const result of [read, write]) expect(result.ok || result.problem).toMatchObject({ status: 500, code: "INTERNAL" });
    const noName = expect.stringMatching(/DatabaseDO [0-9a-f]+ has no name \(ctx\.id\.name is undefined\)/);
    expect(errors.mock.calls.map((args) => String(args[0]))).toEqual([noName, noName]);
  });
});

describe("RealtimeDO name", () => {
  it("runs an alarm that wakes it after a restart without its name, and then still serves its block", async () => {
    const block = "user:names-e";
    (await owner(block)).ws.close(1000, "known");
    await runInDurableObject(env.REALTIME.getByName(block), (_instance, state) => state.storage.setAlarm(Date.now() + 500));
    const runs = watchAlarms(RealtimeDO);
    await abortAllDurableObjects();
    await vi.waitFor(() => expect(runs).toHaveLength(1), { timeout: 5_000 });
    expect(runs).toEqual([{ name: undefined, error: null }]);
    const socket = await owner(block);
    socket.send({ type: "subscribe", id: "s", table: "notes" });
    await socket.next("subscribed");
    await insert(block, "live");
    expect(await socket.next("change")).toMatchObject({ seq: 1, row: { title: "live" } });
  });

  it("refuses an upgrade with a clear error, not a hang, when reached by an id made without a name", async () => {
    const actor = env.REALTIME.get(env.REALTIME.newUniqueId());
    await expect(actor.fetch(new Request("https://actorbase.test/", { headers: { Upgrade: "websocket" } }))).rejects.toThrow(
      /RealtimeDO .* has no name/,
    );
  });
});
