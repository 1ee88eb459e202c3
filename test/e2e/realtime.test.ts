import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import type { ServerMessage } from "../../shared/protocol";
import { baseUrl, token, unique } from "./helpers";

/** A raw protocol socket (the `ws` package) with frames collected in order. */
async function open(block: string, options: { token?: string; headers?: Record<string, string> } = {}) {
  const url = `${baseUrl().replace(/^http/, "ws")}/api/realtime/${block}`;
  const protocols = options.token ? ["actorbase.v1", `bearer.${options.token}`] : ["actorbase.v1"];
  const ws = new WebSocket(url, protocols, { headers: options.headers ?? {} });
  const messages: ServerMessage[] = [];
  let read = 0;
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  ws.on("message", (data) => messages.push(JSON.parse(data.toString()) as ServerMessage));
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  return {
    ws,
    closed,
    messages,
    send: (message: unknown) => ws.send(typeof message === "string" ? message : JSON.stringify(message)),
    async next<T extends ServerMessage["type"]>(type: T, timeoutMs = 5_000): Promise<Extract<ServerMessage, { type: T }>> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        while (read < messages.length) {
          const message = messages[read++] as ServerMessage;
          if (message.type === type) return message as Extract<ServerMessage, { type: T }>;
        }
        if (Date.now() > deadline) throw new Error(`no ${type} within ${timeoutMs} ms: ${JSON.stringify(messages)}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
  };
}

describe("realtime over a real server: handshake", () => {
  it("selects actorbase.v1 and answers ready for a bearer subprotocol", async () => {
    const id = unique("rt");
    const socket = await open(`user:${id}`, { token: await token(id) });
    expect(socket.ws.protocol).toBe("actorbase.v1");
    expect((await socket.next("ready")).connectionId).toBeTruthy();
    socket.ws.close();
  });

  it("declines permessage-deflate, which the ws client offers by default", async () => {
    const id = unique("rt");
    const socket = await open(`user:${id}`, { token: await token(id) });
    await socket.next("ready");
    expect(socket.ws.extensions).toBe("");
    socket.ws.close();
  });

  it("closes with 4403 on a block the caller may not read, and 4401 on a forged token", async () => {
    const forbidden = await open(`user:${unique("rt")}`, { token: await token("someone-else") });
    expect((await forbidden.closed).code).toBe(4403);
    const forged = await open(`user:${unique("rt")}`, { token: "a.b.c" });
    expect((await forged.closed).code).toBe(4401);
  });

  it("refuses a foreign Origin before upgrading", async () => {
    const url = `${baseUrl().replace(/^http/, "ws")}/api/realtime/public`;
    const ws = new WebSocket(url, ["actorbase.v1"], { headers: { Origin: "https://evil.example.com" } });
    const status = await new Promise<number>((resolve) => ws.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0)));
    expect(status).toBe(403);
  });

  it("answers ping with pong", async () => {
    const socket = await open("public");
    await socket.next("ready");
    socket.send({ type: "ping" });
    expect(await socket.next("pong")).toEqual({ type: "pong" });
    socket.ws.close();
  });
});

describe("realtime over a real server: abuse limits", () => {
  it("closes with 1009 for a message over 64 KiB", async () => {
    const socket = await open("public");
    await socket.next("ready");
    socket.send({ type: "broadcast", channel: "c", event: "e", payload: "x".repeat(70_000) });
    expect((await socket.closed).code).toBe(1009);
  });

  it("closes with 4429 when a socket floods messages", async () => {
    const socket = await open("public");
    await socket.next("ready");
    for (let i = 0; i < 300; i++) socket.send({ type: "broadcast", channel: "c", event: "e", payload: i });
    expect((await socket.closed).code).toBe(4429);
  });

  it("refuses the 101st subscription on one socket with SUBSCRIPTION_LIMIT", async () => {
    const id = unique("rt");
    const socket = await open(`user:${id}`, { token: await token(id) });
    await socket.next("ready");
    // Paced under the message rate (50/s, burst 100).
    for (let i = 0; i < 101; i++) {
      socket.send({ type: "subscribe", id: `s${i}`, table: "notes" });
      if (i % 40 === 39) await new Promise((r) => setTimeout(r, 1_000));
    }
    expect(await socket.next("error", 10_000)).toMatchObject({ code: "SUBSCRIPTION_LIMIT", ref: "s100" });
    expect(socket.messages.filter((m) => m.type === "subscribed")).toHaveLength(100);
    socket.ws.close();
  });

  it("closes with 4408 a socket that never authenticates", async () => {
    const socket = await open(`user:${unique("rt")}`);
    // Under wrangler dev the close frame sent from the actor's alarm arrives on time but the TCP
    // connection ends seconds later, so wait for the frame (ws enters CLOSING on receiving it).
    const deadline = Date.now() + 15_000;
    while (socket.ws.readyState === WebSocket.OPEN && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(socket.ws.readyState).not.toBe(WebSocket.OPEN);
    expect((socket.ws as unknown as { _closeCode: number })._closeCode).toBe(4408);
  }, 20_000);

  it("closes the socket past 2,000 on one block with 1013 and admits again when one leaves", async () => {
    const id = unique("rt");
    const jwt = await token(id);
    const sockets: WebSocket[] = [];
    const url = `${baseUrl().replace(/^http/, "ws")}/api/realtime/user:${id}`;
    const openReady = () =>
      new Promise<WebSocket>((resolve, reject) => {
        const ws = new WebSocket(url, ["actorbase.v1", `bearer.${jwt}`]);
        ws.once("message", () => resolve(ws));
        ws.once("error", reject);
      });
    try {
      for (let i = 0; i < 2_000; i += 100) sockets.push(...(await Promise.all(Array.from({ length: 100 }, openReady))));
      const extra = await open(`user:${id}`, { token: jwt });
      expect((await extra.closed).code).toBe(1013);
      sockets.pop()?.close();
      await new Promise((r) => setTimeout(r, 300));
      const again = await open(`user:${id}`, { token: jwt });
      expect((await again.next("ready")).connectionId).toBeTruthy();
      again.ws.close();
    } finally {
      for (const ws of sockets) ws.terminate();
    }
  }, 60_000);
});
