/**
 * Hostile WebSocket traffic against a real server: generated protocol messages (valid, mutated,
 * malformed), binary frames, oversized frames and floods, plus the JWT and tenant-isolation matrix
 * over the realtime route. The server may answer with error frames or close with a documented code;
 * it must never fail internally, hang, leak another tenant's changes or stop serving others.
 */
import fc from "fast-check";
import { SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { socketMessage } from "../helpers/fuzz-grammar";
import { SERVICE_HEADERS, api, baseUrl, token, unique } from "./helpers";
import { E2E_VARS } from "./secrets";

/** Close codes docs/realtime.md documents; anything else from the server is a failure. */
const DOCUMENTED_CLOSES = [1000, 1009, 1013, 4401, 4403, 4408, 4429];

interface Frame {
  type: string;
  code?: string;
  message?: string;
  sub?: string;
  row?: { id?: string; title?: string };
}

/** A socket that records frames and its close, for assertions. */
class Probe {
  readonly frames: Frame[] = [];
  readonly raw: string[] = [];
  close: { code: number; reason: string } | null = null;
  readonly opened: Promise<void>;
  readonly ended: Promise<{ code: number; reason: string }>;
  readonly ws: WebSocket;

  constructor(block: string, protocols: string[], headers: Record<string, string> = {}) {
    this.ws = new WebSocket(`${baseUrl().replace(/^http/, "ws")}/api/realtime/${block}`, protocols, { headers });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once("open", () => resolve());
      this.ws.once("unexpected-response", (_req, res) => reject(new Error(`upgrade refused with HTTP ${res.statusCode}`)));
      this.ws.once("error", reject);
    });
    this.opened.catch(() => {});
    this.ended = new Promise((resolve) => {
      this.ws.on("close", (code, reason) => {
        this.close = { code, reason: String(reason) };
        resolve(this.close);
      });
    });
    this.ws.on("message", (data, isBinary) => {
      const text = isBinary ? "<binary>" : String(data);
      this.raw.push(text);
      try {
        this.frames.push(JSON.parse(text) as Frame);
      } catch {
        this.frames.push({ type: "<unparseable>", message: text.slice(0, 200) });
      }
    });
  }

  send(data: string | Buffer): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(data);
  }

  /** The next frame of a type after index `from`, or null on timeout or close. */
  async next(type: string, timeoutMs = 3_000, from = 0): Promise<Frame | null> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const found = this.frames.slice(from).find((f) => f.type === type);
      if (found) return found;
      if (this.close) return null;
      await new Promise((r) => setTimeout(r, 10));
    }
    return null;
  }
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function bearer(sub: string, claims: Record<string, unknown> = {}, ttl = 3600): Promise<string[]> {
  return ["actorbase.v1", `bearer.${await token(sub, claims, ttl)}`];
}

/** Asserts the server stayed within the protocol: documented closes, well-formed error frames, no INTERNAL. */
function expectWithinProtocol(probe: Probe, context: string): void {
  if (probe.close && probe.close.code !== 1005)
    expect(DOCUMENTED_CLOSES, `${context}: closed ${probe.close.code} ${probe.close.reason}`).toContain(probe.close.code);
  for (const frame of probe.frames) {
    expect(frame.type, `${context}: unparseable frame ${frame.message}`).not.toBe("<unparseable>");
    if (frame.type === "error") {
      expect(frame.code, `${context}: ${JSON.stringify(frame)}`).toMatch(/^[A-Z][A-Z0-9_]*$/);
      expect(frame.code, `${context}: ${JSON.stringify(frame)}`).not.toBe("INTERNAL");
    }
  }
}

async function serverHealthy(): Promise<void> {
  const health = await api("/api/health");
  expect(health.status).toBe(200);
}

describe("hostile WebSocket frames", () => {
  const ws = unique("wsfz");
  const block = `workspace:${ws}`;
  const claims = { workspaces: [ws] };

  it("answers generated and mutated protocol messages with frames or documented closes, never an internal error, and keeps serving", async () => {
    let probe: Probe | null = null;
    const fresh = async (): Promise<Probe> => {
      if (probe && !probe.close) return probe;
      probe = new Probe(block, await bearer("fz", claims));
      await probe.opened;
      expect(await probe.next("ready")).not.toBeNull();
      return probe;
    };
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof({ weight: 6, arbitrary: socketMessage }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }) }), {
          minLength: 1,
          maxLength: 5,
        }),
        async (messages) => {
          const socket = await fresh();
          const from = socket.frames.length;
          for (const message of messages) socket.send(typeof message === "string" ? message : Buffer.from(message));
          socket.send('{"type":"ping"}');
          const pong = await socket.next("pong", 3_000, from);
          const context = `after ${JSON.stringify(messages).slice(0, 400)}`;
          if (!pong) expect(socket.close, `${context}: neither pong nor close within 3 s (a hang)`).not.toBeNull();
          expectWithinProtocol(socket, context);
        },
      ),
      { numRuns: 150 },
    );
    (probe as Probe | null)?.ws.close(1000);
    await serverHealthy();
  }, 120_000);

  it("closes a socket that sends an oversized frame with 1009 and keeps the block serving others", async () => {
    const other = new Probe(block, await bearer("other", claims));
    await other.opened;
    await other.next("ready");
    const big = new Probe(block, await bearer("big", claims));
    await big.opened;
    await big.next("ready");
    big.send(JSON.stringify({ type: "broadcast", channel: "c", event: "e", payload: "x".repeat(200_000) }));
    expect((await big.ended).code).toBe(1009);
    const from = other.frames.length;
    other.send('{"type":"ping"}');
    expect(await other.next("pong", 3_000, from)).not.toBeNull();
    expect(other.frames.some((f) => f.type === "broadcast")).toBe(false);
    other.ws.close(1000);
  });

  it("closes a flooding socket with 4429 without disturbing the other sockets of the block", async () => {
    const calm = new Probe(block, await bearer("calm", claims));
    await calm.opened;
    await calm.next("ready");
    calm.send(JSON.stringify({ type: "subscribe", id: "s", table: "tasks" }));
    expect(await calm.next("subscribed")).not.toBeNull();
    const flood = new Probe(block, await bearer("flood", claims));
    await flood.opened;
    await flood.next("ready");
    for (let i = 0; i < 2_000 && !flood.close; i++)
      flood.send(JSON.stringify({ type: "broadcast", channel: "spam", event: "e", payload: i }));
    expect((await flood.ended).code).toBe(4429);
    const write = await api(`/api/db/${block}/tables/tasks`, {
      method: "POST",
      headers: { ...SERVICE_HEADERS, "Content-Type": "application/json" },
      body: JSON.stringify({ title: "after the flood" }),
    });
    expect(write.status).toBe(201);
    expect((await calm.next("change"))?.row?.title).toBe("after the flood");
    expectWithinProtocol(calm, "calm socket");
    calm.ws.close(1000);
  });

  it("survives frames that are deeply nested, binary, empty or not JSON, answering each with an error frame", async () => {
    const socket = new Probe(block, await bearer("odd", claims));
    await socket.opened;
    await socket.next("ready");
    const odd: Array<string | Buffer> = [
      `{"type":"broadcast","channel":"c","event":"e","payload":${"[".repeat(10_000)}${"]".repeat(10_000)}}`,
      `{"type":"presence","channel":"c","state":${'{"a":'.repeat(5_000)}1${"}".repeat(5_000)}}`,
      Buffer.from([0xff, 0xfe, 0x00, 0x01]),
      "",
      "not json",
      '{"type":"subscribe","id":"__proto__","table":"__proto__"}',
      '{"type":"subscribe","id":"s1","table":"tasks","filter":"or=(((((((((((((((((((((done.eq.true)))))))))))))))))))))"}',
    ];
    for (const frame of odd) {
      const from = socket.frames.length;
      socket.send(frame);
      socket.send('{"type":"ping"}');
      const pong = await socket.next("pong", 3_000, from);
      if (!pong) break;
    }
    expectWithinProtocol(socket, "odd frames");
    if (!socket.close) socket.ws.close(1000);
    await serverHealthy();
  });
});

describe("tenant isolation over WebSocket", () => {
  const victim = unique("wsv");
  const victimBlock = `user:${victim}`;

  beforeAll(async () => {
    const seeded = await api(`/api/db/${victimBlock}/tables/notes`, {
      method: "POST",
      headers: { ...SERVICE_HEADERS, "Content-Type": "application/json" },
      body: JSON.stringify({ id: "n1", title: "victim secret" }),
    });
    expect(seeded.status).toBe(201);
  });

  const now = () => Math.floor(Date.now() / 1000);
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");

  it("refuses every attacker credential on another user's block with 4401 or 4403 before any frame of its data", async () => {
    const wrongSecret = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(victim)
      .setExpirationTime(now() + 600)
      .sign(new TextEncoder().encode("another-secret-0123456789abcdef012345"));
    const cases: Array<[string, string[], number]> = [
      ["another user", await bearer("mallory"), 4403],
      ["a look-alike sub", await bearer(victim.toUpperCase()), 4403],
      ["the victim's expired token", await bearer(victim, {}, -120), 4401],
      ["a token signed with another secret", ["actorbase.v1", `bearer.${wrongSecret}`], 4401],
      ["alg none", ["actorbase.v1", `bearer.${b64({ alg: "none" })}.${b64({ sub: victim, exp: now() + 600 })}.`], 4401],
      ["garbage", ["actorbase.v1", "bearer.a.b.c"], 4401],
      ["a wrong service key", ["actorbase.v1", `bearer.${E2E_VARS.SERVICE_KEY}x`], 4401],
    ];
    for (const [name, protocols, code] of cases) {
      const probe = new Probe(victimBlock, protocols);
      await probe.opened.catch(() => {});
      probe.send(JSON.stringify({ type: "subscribe", id: "s", table: "notes", snapshot: true }));
      const closed = await Promise.race([probe.ended, wait(5_000).then(() => null)]);
      expect(closed?.code, `${name}: ${JSON.stringify(closed)}`).toBe(code);
      expect(probe.raw.join("\n"), name).not.toContain("victim secret");
      expect(
        probe.frames.some((f) => f.type === "ready" || f.type === "subscribed" || f.type === "change"),
        name,
      ).toBe(false);
    }
  });

  it("closes an anonymous socket whose first auth message names a user without access, and one with a bad token", async () => {
    for (const [tokenValue, code] of [
      [await token("mallory"), 4403],
      ["a.b.c", 4401],
    ] as const) {
      const probe = new Probe(victimBlock, ["actorbase.v1"]);
      await probe.opened;
      probe.send(JSON.stringify({ type: "auth", token: tokenValue }));
      probe.send(JSON.stringify({ type: "subscribe", id: "s", table: "notes", snapshot: true }));
      expect((await probe.ended).code).toBe(code);
      expect(probe.raw.join("\n")).not.toContain("victim secret");
    }
  });

  it("stops delivering the victim's changes to a socket that refreshes its auth with another user's token", async () => {
    const probe = new Probe(victimBlock, await bearer(victim));
    await probe.opened;
    await probe.next("ready");
    probe.send(JSON.stringify({ type: "subscribe", id: "s", table: "notes" }));
    expect(await probe.next("subscribed")).not.toBeNull();
    probe.send(JSON.stringify({ type: "auth", token: await token("mallory") }));
    await wait(300);
    const write = await api(`/api/db/${victimBlock}/tables/notes`, {
      method: "POST",
      headers: { ...SERVICE_HEADERS, "Content-Type": "application/json" },
      body: JSON.stringify({ title: "written after the switch" }),
    });
    expect(write.status).toBe(201);
    await Promise.race([probe.ended, wait(1_000)]);
    expect(probe.raw.join("\n")).not.toContain("written after the switch");
    if (!probe.close) probe.ws.close(1000);
  });

  it("refuses an upgrade from an origin outside CORS_ORIGINS", async () => {
    const probe = new Probe(victimBlock, await bearer(victim), { Origin: "https://evil.example" });
    await expect(probe.opened).rejects.toThrow(/403/);
  });

  it("never lets one tenant's socket see another tenant's changes or broadcasts", async () => {
    const ws1 = unique("iso");
    const mine = new Probe(`workspace:${ws1}`, await bearer("mallory", { workspaces: [ws1] }));
    await mine.opened;
    await mine.next("ready");
    mine.send(JSON.stringify({ type: "subscribe", id: "s", table: "tasks" }));
    await mine.next("subscribed");
    const theirs = new Probe(victimBlock, await bearer(victim));
    await theirs.opened;
    await theirs.next("ready");
    theirs.send(JSON.stringify({ type: "broadcast", channel: "c", event: "secret", payload: "victim secret" }));
    await api(`/api/db/${victimBlock}/tables/notes`, {
      method: "POST",
      headers: { ...SERVICE_HEADERS, "Content-Type": "application/json" },
      body: JSON.stringify({ title: "victim secret 2" }),
    });
    await wait(300);
    expect(mine.raw.join("\n")).not.toContain("victim secret");
    expect(mine.frames.filter((f) => f.type === "change" || f.type === "broadcast")).toEqual([]);
    mine.ws.close(1000);
    theirs.ws.close(1000);
  });
});
