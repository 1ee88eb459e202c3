import { env } from "cloudflare:workers";
import { abortAllDurableObjects, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { RealtimeDO } from "../objects/realtime/realtime-do";
import { token } from "./helpers/http";
import { connect, settle } from "./helpers/realtime";

async function join(block: string, sub: string) {
  const socket = await connect(block, { protocols: ["actorbase.v1", `bearer.${await token(sub, { workspaces: [block.split(":")[1]] })}`] });
  const ready = await socket.next("ready");
  return Object.assign(socket, { id: ready.connectionId });
}

describe("RealtimeDO broadcast", () => {
  it("reaches every other socket of the block with the sender's connection id, not the sender", async () => {
    const [a, b, c] = [await join("workspace:bc1", "ann"), await join("workspace:bc1", "ben"), await join("workspace:bc1", "cat")];
    const elsewhere = await join("workspace:bc2", "ann");
    a.send({ type: "broadcast", channel: "cursors", event: "move", payload: { x: 1, y: 2 } });
    for (const other of [b, c]) {
      expect(await other.next("broadcast")).toEqual({
        type: "broadcast",
        channel: "cursors",
        event: "move",
        payload: { x: 1, y: 2 },
        from: a.id,
      });
    }
    await settle();
    expect(a.messages.filter((m) => m.type === "broadcast")).toEqual([]);
    expect(elsewhere.messages.filter((m) => m.type === "broadcast")).toEqual([]);
  });

  it("does not reach sockets still waiting to authenticate", async () => {
    const a = await join("workspace:bc3", "ann");
    const pending = await connect("workspace:bc3");
    a.send({ type: "broadcast", channel: "c", event: "e", payload: 1 });
    await settle();
    expect(pending.messages).toEqual([]);
  });
});

describe("RealtimeDO presence", () => {
  it("gives a joiner the channel's members and the others a joins diff", async () => {
    const a = await join("workspace:pr1", "ann");
    const b = await join("workspace:pr1", "ben");
    a.send({ type: "presence", channel: "room", state: { name: "Ann" } });
    expect(await a.next("presence.state")).toEqual({ type: "presence.state", channel: "room", members: { [a.id]: { name: "Ann" } } });
    b.send({ type: "presence", channel: "room", state: { name: "Ben" } });
    expect(await b.next("presence.state")).toEqual({
      type: "presence.state",
      channel: "room",
      members: { [a.id]: { name: "Ann" }, [b.id]: { name: "Ben" } },
    });
    expect(await a.next("presence")).toEqual({ type: "presence", channel: "room", joins: { [b.id]: { name: "Ben" } }, leaves: [] });
  });

  it("announces an update as a join with the new state, and presence.leave as a leave", async () => {
    const a = await join("workspace:pr2", "ann");
    const b = await join("workspace:pr2", "ben");
    a.send({ type: "presence", channel: "room", state: { typing: false } });
    await a.next("presence.state");
    b.send({ type: "presence", channel: "room", state: { typing: false } });
    await a.next("presence");
    b.send({ type: "presence", channel: "room", state: { typing: true } });
    expect((await a.next("presence")).joins).toEqual({ [b.id]: { typing: true } });
    b.send({ type: "presence.leave", channel: "room" });
    expect(await a.next("presence")).toEqual({ type: "presence", channel: "room", joins: {}, leaves: [b.id] });
  });

  it("removes a member whose socket closes", async () => {
    const a = await join("workspace:pr3", "ann");
    const b = await join("workspace:pr3", "ben");
    a.send({ type: "presence", channel: "room", state: 1 });
    await a.next("presence.state");
    b.send({ type: "presence", channel: "room", state: 2 });
    await a.next("presence");
    b.ws.close(1000, "bye");
    expect(await a.next("presence")).toEqual({ type: "presence", channel: "room", joins: {}, leaves: [b.id] });
    const c = await join("workspace:pr3", "cat");
    c.send({ type: "presence", channel: "room", state: 3 });
    expect((await c.next("presence.state")).members).toEqual({ [a.id]: 1, [c.id]: 3 });
  });

  it("keeps no ghost members after the actor restarts", async () => {
    const a = await join("workspace:pr4", "ann");
    a.send({ type: "presence", channel: "room", state: "here" });
    await a.next("presence.state");
    await abortAllDurableObjects();
    await a.closed;
    const b = await join("workspace:pr4", "ben");
    b.send({ type: "presence", channel: "room", state: "new" });
    expect((await b.next("presence.state")).members).toEqual({ [b.id]: "new" });
  });

  it("refuses presence state over the size limit with an error frame", async () => {
    const a = await join("workspace:pr5", "ann");
    a.send({ type: "presence", channel: "room", state: "x".repeat(5_000) });
    expect((await a.next("error")).code).toBe("PRESENCE_STATE_TOO_LARGE");
  });
});

describe("RealtimeDO hibernation", () => {
  it("keeps auth and presence in attachments and SQLite, so a rebuilt actor serves them unchanged", async () => {
    const a = await join("workspace:hb1", "ann");
    const b = await join("workspace:hb1", "ben");
    a.send({ type: "presence", channel: "room", state: { at: 1 } });
    await a.next("presence.state");
    const stub = env.REALTIME.get(env.REALTIME.idFromName("workspace:hb1"));
    // What a woken actor has: the sockets and their attachments, the presence rows.
    const seen = await runInDurableObject(stub, (_instance: RealtimeDO, state) => {
      const attachments = state
        .getWebSockets()
        .map((ws) => ws.deserializeAttachment() as { v: number; id: string; caller: { sub: string } });
      const presence = state.storage.sql.exec("SELECT channel, conn, state FROM _presence").toArray();
      return { attachments, presence };
    });
    expect(seen.attachments.map((a) => [a.v, a.id, a.caller.sub]).sort()).toEqual(
      [
        [1, a.id, "ann"],
        [1, b.id, "ben"],
      ].sort(),
    );
    expect(seen.presence).toEqual([{ channel: "room", conn: a.id, state: '{"at":1}' }]);
    // The runtime answers ping without the actor.
    a.send({ type: "ping" });
    expect(await a.next("pong")).toEqual({ type: "pong" });
  });

  it("serves subscriptions and presence unchanged from a fresh instance rebuilt over the same sockets and storage", async () => {
    const block = "workspace:hb2";
    const a = await join(block, "ann");
    const b = await join(block, "ben");
    a.send({ type: "subscribe", id: "hot", table: "tasks", filter: "points=gte.3" });
    await a.next("subscribed");
    b.send({ type: "subscribe", id: "all", table: "tasks", batch: true });
    await b.next("subscribed");
    a.send({ type: "presence", channel: "room", state: "ann" });
    await a.next("presence.state");
    const stub = env.REALTIME.get(env.REALTIME.idFromName(block));
    await runInDurableObject(stub, async (_instance: RealtimeDO, state) => {
      // What waking from hibernation does: a new instance, nothing in memory but attachments and SQLite.
      const woken = new RealtimeDO(state, env);
      const task = (seq: number, points: number) => ({
        seq,
        table: "tasks",
        op: "insert" as const,
        id: `t${seq}`,
        row: { id: `t${seq}`, title: "x", points },
      });
      await woken.publish([task(1, 1), task(2, 5)]);
      const [bSocket] = state.getWebSockets(b.id);
      await woken.webSocketMessage(bSocket as WebSocket, JSON.stringify({ type: "presence", channel: "room", state: "ben" }));
    });
    expect(await a.next("change")).toMatchObject({ sub: "hot", seq: 2, op: "insert", row: { points: 5 } });
    expect((await b.next("changes")).changes.map((c) => c.seq)).toEqual([1, 2]);
    expect((await b.next("presence.state")).members).toEqual({ [a.id]: "ann", [b.id]: "ben" });
    expect(await a.next("presence")).toEqual({ type: "presence", channel: "room", joins: { [b.id]: "ben" }, leaves: [] });
    await settle();
    expect(a.messages.filter((m) => m.type === "change")).toHaveLength(1);
  });
});
