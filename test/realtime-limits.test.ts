import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { RealtimeDO } from "../objects/realtime/realtime-do";
import { token } from "./helpers/http";
import { connect, settle } from "./helpers/realtime";

const stubOf = (block: string) => env.REALTIME.get(env.REALTIME.idFromName(block));

async function signedIn(block: string, sub: string, ttlSeconds = 3600) {
  const socket = await connect(block, { protocols: ["actorbase.v1", `bearer.${await token(sub, {}, ttlSeconds)}`] });
  await socket.next("ready");
  return socket;
}

describe("RealtimeDO abuse limits", () => {
  it("closes with 1009 when a message is larger than 64 KiB", async () => {
    const socket = await signedIn("user:lim-size", "lim-size");
    socket.send({ type: "broadcast", channel: "c", event: "e", payload: "x".repeat(70_000) });
    expect((await socket.closed).code).toBe(1009);
  });

  it("closes with 4429 when a socket sends faster than its message rate", async () => {
    const socket = await signedIn("user:lim-rate", "lim-rate");
    for (let i = 0; i < 150; i++) socket.send({ type: "broadcast", channel: "c", event: "e", payload: i });
    const closed = await socket.closed;
    expect(closed.code).toBe(4429);
    expect(closed.reason).toMatch(/messages per second/);
  });

  it("refuses subscriptions past the per-socket limit with an error frame, keeping the socket", async () => {
    const socket = await signedIn("user:lim-subs", "lim-subs");
    await runInDurableObject(stubOf("user:lim-subs"), (instance: RealtimeDO) => {
      instance.limits.subscriptionsPerSocket = 2;
    });
    // One at a time: frames sent while the actor is busy (runInDurableObject just ran) were seen
    // to arrive out of order in the test runtime.
    for (const id of ["a", "b"]) {
      socket.send({ type: "subscribe", id, table: "notes" });
      expect((await socket.next("subscribed")).id).toBe(id);
    }
    socket.send({ type: "subscribe", id: "c", table: "notes" });
    expect(await socket.next("error")).toMatchObject({ code: "SUBSCRIPTION_LIMIT", ref: "c" });
    socket.send({ type: "unsubscribe", id: "a" });
    await settle(50);
    socket.send({ type: "subscribe", id: "c", table: "notes" });
    expect((await socket.next("subscribed")).id).toBe("c");
  });

  it("closes sockets past the per-actor limit with 1013, and admits again after one leaves", async () => {
    const first = await signedIn("user:lim-socks", "lim-socks");
    await runInDurableObject(stubOf("user:lim-socks"), (instance: RealtimeDO) => {
      instance.limits.socketsPerActor = 2;
    });
    await signedIn("user:lim-socks", "lim-socks");
    const third = await connect("user:lim-socks", { protocols: ["actorbase.v1", `bearer.${await token("lim-socks")}`] });
    expect((await third.closed).code).toBe(1013);
    first.ws.close(1000);
    await settle(100);
    await signedIn("user:lim-socks", "lim-socks");
  });

  it("closes with 4408 a socket that sends no auth message before the deadline (the actor's alarm)", async () => {
    await runInDurableObject(stubOf("user:lim-auth"), (instance: RealtimeDO) => {
      instance.limits.authTimeoutMs = 0;
    });
    const socket = await connect("user:lim-auth");
    await settle(20);
    // The alarm was set for the deadline; run it now unless the runtime already has.
    await runDurableObjectAlarm(stubOf("user:lim-auth"));
    expect((await socket.closed).code).toBe(4408);
  });

  it("closes with 4401 when the token expires without a refresh", async () => {
    const socket = await signedIn("user:lim-exp", "lim-exp", 1);
    const closed = await socket.closed;
    expect(closed.code).toBe(4401);
    expect(closed.reason).toMatch(/expired/);
  });

  it("keeps a socket whose token was refreshed with an auth message before it expired", async () => {
    const socket = await signedIn("user:lim-refresh", "lim-refresh", 1);
    socket.send({ type: "auth", token: await token("lim-refresh") });
    await socket.next("ready");
    await settle(1_600);
    await runDurableObjectAlarm(stubOf("user:lim-refresh"));
    socket.send({ type: "ping" });
    await socket.next("pong");
    expect(socket.messages.some((m) => m.type === "error")).toBe(false);
  });
});
