import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { type ActorbaseClient, type AuthEvent, type ClientOptions, createClient, memoryStorage } from "../../client/index";
import { BEARER_PREFIX } from "../../shared/protocol";
import { api, baseUrl } from "./helpers";

// Every accounts call here counts against the server's per-IP limit (100 per 15 minutes, shared by
// the whole e2e run against one server): this file makes 19.

interface Note {
  title: string;
  body?: string | null;
  done?: boolean;
}

const PASSWORD = "correct horse battery";
const KEY = "actorbase.session";

const clients: ActorbaseClient[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) client.close();
});

function newClient(extra: Partial<ClientOptions> = {}): ActorbaseClient {
  const client = createClient({ url: baseUrl(), WebSocket, auth: { storage: memoryStorage() }, ...extra });
  clients.push(client);
  return client;
}

const newEmail = (): string => `${randomUUID()}@example.com`;

/** Records the events a client's auth reports. */
function events(client: ActorbaseClient): AuthEvent[] {
  const seen: AuthEvent[] = [];
  client.auth.onChange((event) => seen.push(event));
  return seen;
}

/** A fetch that remembers each request's path and bearer token. */
function recordingFetch(): { fetch: typeof fetch; requests: Array<{ path: string; token: string | null }> } {
  const requests: Array<{ path: string; token: string | null }> = [];
  return {
    requests,
    fetch: (input, init) => {
      const authorization = new Headers(init?.headers).get("Authorization");
      requests.push({ path: new URL(String(input)).pathname, token: authorization?.replace(/^Bearer /, "") ?? null });
      return fetch(input, init);
    },
  };
}

async function until(check: () => boolean, timeoutMs = 8_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("client.auth sign-up and sign-in", () => {
  it("signs up, stores the session and writes to the user's own block with it", async () => {
    const storage = memoryStorage();
    const client = newClient({ auth: { storage } });
    const seen = events(client);
    const email = newEmail();
    const session = await client.auth.signUp({ email, password: PASSWORD, data: { name: "Ann" } });
    expect(session.user).toMatchObject({ email, emailVerified: false, anonymous: false, data: { name: "Ann" } });
    expect(session).toMatchObject({ tokenType: "Bearer", accessToken: expect.any(String), refreshToken: expect.any(String) });
    expect(session.expiresAt).toBeGreaterThan(Date.now() + 60_000);
    expect(await client.auth.session()).toEqual(session);
    expect(JSON.parse(storage.getItem(KEY) as string)).toEqual(session);
    expect(seen).toEqual(["SIGNED_IN"]);

    const notes = client.db(`user:${session.user.id}`).table<Note>("notes");
    const row = await notes.insert({ title: "Mine", body: "written as myself", done: true });
    expect(row).toMatchObject({ title: "Mine", body: "written as myself", done: true, version: 1 });
    expect((await notes.list()).items.map((r) => r.title)).toEqual(["Mine"]);
    const other = client.db(`user:u${"0".repeat(20)}`).table<Note>("notes");
    await expect(other.list()).rejects.toMatchObject({ status: 403, code: "FORBIDDEN" });
    expect(await client.auth.user()).toEqual(session.user);
  });

  it("signs in an existing account with a new session, and refuses a wrong password", async () => {
    const email = newEmail();
    const first = await newClient().auth.signUp({ email, password: PASSWORD });
    const client = newClient();
    await expect(client.auth.signIn({ email, password: "not the password" })).rejects.toMatchObject({
      status: 401,
      code: "INVALID_CREDENTIALS",
    });
    expect(await client.auth.session()).toBeNull();
    const session = await client.auth.signIn({ email, password: PASSWORD });
    expect(session.user).toEqual(first.user);
    expect(session.refreshToken).not.toBe(first.refreshToken);
    await expect(client.db(`user:${session.user.id}`).table<Note>("notes").list()).resolves.toMatchObject({ items: [] });
  });

  it("signs out: the session is forgotten locally and ended on the server", async () => {
    const storage = memoryStorage();
    const { fetch: recording, requests } = recordingFetch();
    const client = newClient({ auth: { storage }, fetch: recording });
    const seen = events(client);
    const session = await client.auth.signUp({ email: newEmail(), password: PASSWORD });
    await client.auth.signOut();
    expect(requests.at(-1)).toEqual({ path: "/api/auth/signout", token: session.accessToken });
    expect(await client.auth.session()).toBeNull();
    expect(storage.getItem(KEY)).toBeNull();
    expect(seen).toEqual(["SIGNED_IN", "SIGNED_OUT"]);
    const refresh = await api("/api/auth/refresh", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refreshToken: session.refreshToken }),
    });
    expect(refresh.status).toBe(401);
    await expect(client.auth.user()).rejects.toMatchObject({ status: 401, code: "AUTH_REQUIRED" });
    // Requests go out without a token now.
    await expect(client.db(`user:${session.user.id}`).table<Note>("notes").list()).rejects.toMatchObject({
      status: 401,
      code: "AUTH_REQUIRED",
    });
    expect(requests.at(-1)).toMatchObject({ token: null });
  });
});

describe("client.auth refresh", () => {
  it("rotates the session once for concurrent refresh calls, and the session lives on", async () => {
    const { fetch: recording, requests } = recordingFetch();
    const client = newClient({ fetch: recording });
    const before = await client.auth.signUp({ email: newEmail(), password: PASSWORD });
    const seen = events(client);
    const results = await Promise.all(Array.from({ length: 5 }, () => client.auth.refresh()));
    expect(requests.filter((r) => r.path === "/api/auth/refresh")).toHaveLength(1);
    for (const result of results) expect(result).toEqual(results[0]);
    const after = results[0]!;
    expect(after.user.id).toBe(before.user.id);
    expect(after.refreshToken).not.toBe(before.refreshToken);
    expect(await client.auth.session()).toEqual(after);
    expect(seen).toEqual(["TOKEN_REFRESHED"]);
    // Not ended (a second spend of the same token would have ended it): the user route and a further rotation work.
    await expect(client.auth.user()).resolves.toMatchObject({ id: before.user.id });
    expect((await client.auth.refresh()).refreshToken).not.toBe(after.refreshToken);
    expect(seen).toEqual(["TOKEN_REFRESHED", "TOKEN_REFRESHED"]);
  });

  it("clears the session and reports SIGNED_OUT when a refresh finds it ended", async () => {
    const storage = memoryStorage();
    const client = newClient({ auth: { storage } });
    const seen = events(client);
    const first = await client.auth.signUp({ email: newEmail(), password: PASSWORD });
    await client.auth.refresh();
    // Someone replays the spent token: the server ends the whole session.
    const replay = await api("/api/auth/refresh", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refreshToken: first.refreshToken }),
    });
    expect(replay.status).toBe(401);
    expect(await replay.json()).toMatchObject({ code: "REFRESH_TOKEN_REUSED" });
    await expect(client.auth.refresh()).rejects.toMatchObject({ status: 401 });
    expect(await client.auth.session()).toBeNull();
    expect(storage.getItem(KEY)).toBeNull();
    expect(seen).toEqual(["SIGNED_IN", "TOKEN_REFRESHED", "SIGNED_OUT"]);
  });

  it("restores a stored session into a new client, which uses it for requests", async () => {
    const storage = memoryStorage();
    const first = newClient({ auth: { storage } });
    const session = await first.auth.signUp({ email: newEmail(), password: PASSWORD });
    await first.db(`user:${session.user.id}`).table<Note>("notes").insert({ title: "from the first client" });
    first.close();

    const { fetch: recording, requests } = recordingFetch();
    const second = newClient({ auth: { storage }, fetch: recording });
    expect(await second.auth.session()).toEqual(session);
    const page = await second.db(`user:${session.user.id}`).table<Note>("notes").list();
    expect(page.items.map((r) => r.title)).toEqual(["from the first client"]);
    expect(requests).toEqual([
      { path: `/api/db/${encodeURIComponent(`user:${session.user.id}`)}/tables/notes`, token: session.accessToken },
    ]);
    await expect(second.auth.user()).resolves.toEqual(session.user);
  });

  it("keeps a realtime subscription receiving changes across an access-token refresh and a reconnect", async () => {
    const bearers: string[] = [];
    class RecordingWebSocket extends WebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols);
        const bearer = [protocols ?? []].flat().find((p) => p.startsWith(BEARER_PREFIX));
        if (bearer) bearers.push(bearer.slice(BEARER_PREFIX.length));
      }
    }
    const { fetch: recording, requests } = recordingFetch();
    const client = newClient({ WebSocket: RecordingWebSocket, fetch: recording, minReconnectDelayMs: 100 });
    const before = await client.auth.signUp({ email: newEmail(), password: PASSWORD });
    const block = client.db(`user:${before.user.id}`);
    const notes = block.table<Note>("notes");
    const seen: string[] = [];
    await notes.subscribe("", (change) => seen.push(change.row.title)).ready;
    await notes.insert({ title: "before refresh" });
    await until(() => seen.length === 1);

    const after = await client.auth.refresh();
    await notes.insert({ title: "after refresh" });
    await until(() => seen.length === 2);
    expect(requests.at(-1)).toMatchObject({ token: after.accessToken });

    block.realtime.reconnect(); // a new socket must authenticate with the refreshed token
    await block.realtime.ready();
    await notes.insert({ title: "after reconnect" });
    await until(() => seen.length === 3);
    expect(seen).toEqual(["before refresh", "after refresh", "after reconnect"]);
    expect(bearers).toEqual([before.accessToken, after.accessToken]);
  });
});

describe("client.auth anonymous users", () => {
  it("signs in anonymously, writes, then links an email and keeps the id and the data", async () => {
    const client = newClient();
    const seen = events(client);
    const anonymous = await client.auth.signInAnonymously();
    expect(anonymous.user).toMatchObject({ email: null, anonymous: true });
    const notes = client.db(`user:${anonymous.user.id}`).table<Note>("notes");
    await notes.insert({ title: "before linking" });

    const email = newEmail();
    const linked = await client.auth.link({ email, password: PASSWORD });
    expect(linked.user).toMatchObject({ id: anonymous.user.id, email, anonymous: false });
    expect(await client.auth.session()).toEqual(linked);
    expect(seen).toEqual(["SIGNED_IN", "SIGNED_IN"]);
    expect((await notes.list()).items.map((r) => r.title)).toEqual(["before linking"]);
    const again = await newClient().auth.signIn({ email, password: PASSWORD });
    expect(again.user.id).toBe(anonymous.user.id);
  });
});
