import { describe, expect, it } from "vitest";
import { SERVICE, as, call, token } from "./helpers/http";
import { connect, settle } from "./helpers/realtime";

describe("GET /api/realtime/:block handshake", () => {
  it("answers a plain GET with 426 problem+json", async () => {
    const response = await call("/api/realtime/user:alice");
    expect(response.status).toBe(426);
    expect(response.headers.get("Content-Type")).toContain("application/problem+json");
    expect(await response.json()).toMatchObject({ code: "UPGRADE_REQUIRED" });
  });

  it("rejects malformed and unknown blocks before upgrading", async () => {
    expect((await call("/api/realtime/user:bad!id", { headers: { Upgrade: "websocket" } })).status).toBe(400);
    expect((await call("/api/realtime/nope:x", { headers: { Upgrade: "websocket" } })).status).toBe(404);
  });

  it("accepts a bearer subprotocol, selects actorbase.v1 and sends ready", async () => {
    const socket = await connect("user:hs-alice", { protocols: ["actorbase.v1", `bearer.${await token("hs-alice")}`] });
    expect(socket.response.status).toBe(101);
    expect(socket.response.headers.get("Sec-WebSocket-Protocol")).toBe("actorbase.v1");
    const ready = await socket.next("ready");
    expect(ready.connectionId).toMatch(/^[A-Za-z0-9_-]{12}$/);
    expect(ready.seq).toBeGreaterThanOrEqual(0);
    socket.ws.close(1000);
  });

  it("accepts the Authorization header and the service key", async () => {
    const user = await connect("user:hs-bob", { headers: await as("hs-bob") });
    await user.next("ready");
    const service = await connect("user:hs-bob", { headers: SERVICE });
    await service.next("ready");
  });

  it("closes with 4401 for a forged bearer subprotocol", async () => {
    const socket = await connect("user:hs-carol", { protocols: ["actorbase.v1", "bearer.a.b.c"] });
    expect(socket.response.headers.get("Sec-WebSocket-Protocol")).toBe("actorbase.v1");
    expect((await socket.closed).code).toBe(4401);
  });

  it("closes with 4403 when the rules deny reading the block", async () => {
    const socket = await connect("user:hs-dave", { protocols: ["actorbase.v1", `bearer.${await token("mallory")}`] });
    const closed = await socket.closed;
    expect(closed.code).toBe(4403);
    expect(closed.reason).toContain("user:hs-dave");
  });

  it("refuses an Origin not in CORS_ORIGINS with 403 and accepts a listed one", async () => {
    const bad = await call("/api/realtime/public", { headers: { Upgrade: "websocket", Origin: "https://evil.example.com" } });
    expect(bad.status).toBe(403);
    expect(await bad.json()).toMatchObject({ code: "ORIGIN_NOT_ALLOWED" });
    const good = await connect("public", { headers: { Origin: "https://app.example.com" } });
    await good.next("ready");
  });

  it("accepts a page on the server's own origin (the console) without CORS_ORIGINS listing it", async () => {
    const own = await connect("public", { headers: { Origin: "https://actorbase.test" } });
    await own.next("ready");
    const lookalike = await call("/api/realtime/public", {
      headers: { Upgrade: "websocket", Origin: "https://actorbase.test.evil.example" },
    });
    expect(lookalike.status).toBe(403);
  });

  it("lets anonymous callers into a block whose read rule allows anyone", async () => {
    const socket = await connect("public");
    expect((await socket.next("ready")).connectionId).toBeTruthy();
  });

  it("authenticates with a first auth message and answers ready", async () => {
    const socket = await connect("user:hs-erin");
    socket.send({ type: "subscribe", id: "s1", table: "notes" });
    const refused = await socket.next("error");
    expect(refused.code).toBe("AUTH_REQUIRED");
    socket.send({ type: "auth", token: await token("hs-erin") });
    expect((await socket.next("ready")).connectionId).toBeTruthy();
  });

  it("closes with 4401 when the auth message carries a bad token, and 4403 for someone else's block", async () => {
    const forged = await connect("user:hs-frank");
    forged.send({ type: "auth", token: "x.y.z" });
    expect((await forged.closed).code).toBe(4401);
    const other = await connect("user:hs-frank");
    other.send({ type: "auth", token: await token("not-frank") });
    expect((await other.closed).code).toBe(4403);
  });

  it("keeps the socket open on a refresh and answers ready again", async () => {
    const socket = await connect("user:hs-gina", { protocols: ["actorbase.v1", `bearer.${await token("hs-gina")}`] });
    const first = await socket.next("ready");
    socket.send({ type: "auth", token: await token("hs-gina") });
    const second = await socket.next("ready");
    expect(second.connectionId).toBe(first.connectionId);
    await settle(50);
  });

  it("answers unknown and malformed messages with an error frame and stays open", async () => {
    const socket = await connect("public");
    await socket.next("ready");
    socket.send("not json");
    expect((await socket.next("error")).code).toBe("INVALID_JSON");
    socket.send({ type: "dance" });
    expect((await socket.next("error")).code).toBe("UNKNOWN_TYPE");
    socket.send({ type: "ping" });
    await socket.next("pong");
  });
});
