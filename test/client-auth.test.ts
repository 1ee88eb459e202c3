import { afterEach, describe, expect, it, vi } from "vitest";
import { type AuthEvent, type AuthSession, type AuthStorage, createClient, memoryStorage } from "../client/index";

// client.auth against a scripted fetch: what a real server cannot show quickly (tokens about to
// expire, timers, a refresh failing) and the OAuth redirect, whose server side lives elsewhere.

const KEY = "actorbase.session";
const USER = { id: "u00000000000000000001", email: "ann@example.com", emailVerified: false, anonymous: false, createdAt: "", data: {} };

function session(n: number, expiresInMs: number): AuthSession {
  return { accessToken: `access-${n}`, refreshToken: `refresh-${n}`, expiresAt: Date.now() + expiresInMs, tokenType: "Bearer", user: USER };
}

const wire = ({ user, ...tokens }: AuthSession) => ({ user, session: tokens });

interface Sent {
  method: string;
  path: string;
  token: string | null;
  body: unknown;
}

/** A fetch that records requests and answers `/api/auth/*` from `routes`, everything else with an empty list. */
function fakeServer(routes: Record<string, () => Response | Promise<Response>>) {
  const sent: Sent[] = [];
  const fetchImpl: typeof fetch = async (input, init) => {
    const path = new URL(String(input)).pathname;
    const authorization = new Headers(init?.headers).get("Authorization");
    const body = typeof init?.body === "string" ? JSON.parse(init.body) : undefined;
    sent.push({ method: init?.method ?? "GET", path, token: authorization?.replace("Bearer ", "") ?? null, body });
    const route = routes[path];
    if (route) return route();
    return Response.json({ items: [], nextCursor: null, seq: 0 });
  };
  return { sent, fetch: fetchImpl };
}

function storedWith(value: AuthSession): AuthStorage {
  const storage = memoryStorage();
  storage.setItem(KEY, JSON.stringify(value));
  return storage;
}

function clientWith(storage: AuthStorage, fetchImpl: typeof fetch) {
  const client = createClient({ url: "https://api.example.com", fetch: fetchImpl, auth: { storage } });
  const events: AuthEvent[] = [];
  client.auth.onChange((event) => events.push(event));
  return { client, events, notes: client.db(`user:${USER.id}`).table("notes") };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("client.auth: tokens about to expire", () => {
  it("refreshes before the requests that need it, once for many at the same time", async () => {
    const next = session(2, 900_000);
    let release = () => {};
    const server = fakeServer({
      "/api/auth/refresh": () => new Promise((resolve) => (release = () => resolve(Response.json(wire(next))))),
    });
    const storage = storedWith(session(1, 30_000));
    const { client, events, notes } = clientWith(storage, server.fetch);
    const lists = [notes.list(), notes.list(), notes.list()];
    await vi.waitFor(() => expect(server.sent.length).toBe(1));
    release();
    await Promise.all(lists);
    expect(server.sent.map((r) => [r.path, r.token])).toEqual([
      ["/api/auth/refresh", null],
      ...Array(3).fill([`/api/db/user%3A${USER.id}/tables/notes`, "access-2"]),
    ]);
    expect(server.sent[0]?.body).toEqual({ refreshToken: "refresh-1" });
    expect(JSON.parse(storage.getItem(KEY) as string)).toEqual(next);
    expect(events).toEqual(["TOKEN_REFRESHED"]);
    client.close();
  });

  it("signs out when the refresh is refused with 401, and sends later requests without a token", async () => {
    const refused = () =>
      Response.json(
        { status: 401, code: "REFRESH_TOKEN_REUSED", detail: "used already" },
        { status: 401, headers: { "Content-Type": "application/problem+json" } },
      );
    const server = fakeServer({ "/api/auth/refresh": refused });
    const storage = storedWith(session(1, 10_000));
    const { client, events, notes } = clientWith(storage, server.fetch);
    await notes.list();
    expect(server.sent.map((r) => [r.path, r.token])).toEqual([
      ["/api/auth/refresh", null],
      [`/api/db/user%3A${USER.id}/tables/notes`, null],
    ]);
    expect(await client.auth.session()).toBeNull();
    expect(storage.getItem(KEY)).toBeNull();
    expect(events).toEqual(["SIGNED_OUT"]);
    client.close();
  });

  it("keeps the session and sends the current token when the refresh cannot reach the server", async () => {
    const server = fakeServer({
      "/api/auth/refresh": () => {
        throw new TypeError("fetch failed");
      },
    });
    const current = session(1, 10_000);
    const { client, events, notes } = clientWith(storedWith(current), server.fetch);
    await notes.list();
    expect(server.sent.at(-1)?.token).toBe("access-1");
    expect(await client.auth.session()).toEqual(current);
    expect(events).toEqual([]);
    // Asking again at once (a socket does, every second, near expiry) tries no second refresh.
    const refreshes = () => server.sent.filter((sent) => sent.path === "/api/auth/refresh").length;
    const before = refreshes();
    expect(await client.auth.accessToken()).toBe("access-1");
    expect(refreshes()).toBe(before);
    client.close();
  });

  it("refreshes on a timer a minute ahead of expiry, and not after close()", async () => {
    vi.useFakeTimers();
    const server = fakeServer({ "/api/auth/refresh": () => Response.json(wire(session(2, 900_000))) });
    const { client, events } = clientWith(storedWith(session(1, 61_000)), server.fetch);
    await vi.advanceTimersByTimeAsync(500);
    expect(server.sent).toEqual([]);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(server.sent.map((r) => r.path)).toEqual(["/api/auth/refresh"]);
    expect(events).toEqual(["TOKEN_REFRESHED"]);
    client.close();
    await vi.advanceTimersByTimeAsync(900_000);
    expect(server.sent).toHaveLength(1);
  });
});

describe("client.auth: storage", () => {
  it("restores a session from an asynchronous storage adapter and ignores what is not a session", async () => {
    const stored = session(1, 900_000);
    const items = new Map([[KEY, JSON.stringify(stored)]]);
    const asyncStorage: AuthStorage = {
      getItem: async (key) => items.get(key) ?? null,
      setItem: async (key, value) => void items.set(key, value),
      removeItem: async (key) => void items.delete(key),
    };
    const server = fakeServer({});
    const { client, notes } = clientWith(asyncStorage, server.fetch);
    expect(await client.auth.session()).toEqual(stored);
    await notes.list();
    expect(server.sent.at(-1)?.token).toBe("access-1");
    client.close();

    items.set(KEY, JSON.stringify({ accessToken: 42 }));
    const broken = clientWith(asyncStorage, server.fetch);
    expect(await broken.client.auth.session()).toBeNull();
    broken.client.close();
  });
});

describe("client.auth: signing out and in around a refresh", () => {
  it("tells the caller when signing out may have left the server's session alive", async () => {
    const problem = (status: number, code: string) =>
      new Response(JSON.stringify({ status, code, detail: code }), { status, headers: { "Content-Type": "application/problem+json" } });
    const server = fakeServer({
      "/api/auth/refresh": () => problem(503, "TRY_AGAIN_LATER"),
      "/api/auth/signout": () => problem(401, "TOKEN_EXPIRED"),
    });
    const { client, events } = clientWith(storedWith(session(1, 10_000)), server.fetch);
    await expect(client.auth.signOut()).rejects.toMatchObject({ code: "TOKEN_EXPIRED" });
    expect(await client.auth.session()).toBeNull();
    expect(events).toEqual(["SIGNED_OUT"]);
    client.close();
  });

  it("ends on the server the session a refresh renewed after the client signed out meanwhile", async () => {
    let answer: (() => void) | null = null;
    const server = fakeServer({
      "/api/auth/refresh": () => new Promise<Response>((resolve) => (answer = () => resolve(Response.json(wire(session(2, 900_000)))))),
      "/api/auth/signout": () => new Response(null, { status: 204 }),
    });
    const { client } = clientWith(storedWith(session(1, 900_000)), server.fetch);
    const refreshing = client.auth.refresh();
    await vi.waitFor(() => expect(answer).not.toBeNull());
    await client.auth.signOut();
    (answer as unknown as () => void)();
    await expect(refreshing).rejects.toMatchObject({ code: "SESSION_ENDED" });
    await vi.waitFor(() =>
      expect(server.sent.filter((sent) => sent.path === "/api/auth/signout").map((sent) => sent.token)).toContain("access-2"),
    );
    expect(await client.auth.session()).toBeNull();
    client.close();
  });
});

describe("client.auth: OAuth redirect", () => {
  it("builds the provider URL with a PKCE challenge, exchanges the returned code with its verifier and reports the returned error", async () => {
    const server = fakeServer({ "/api/auth/oauth/exchange": () => Response.json(wire(session(3, 900_000))) });
    const { client, events } = clientWith(memoryStorage(), server.fetch);
    const url = new URL(await client.auth.oauthUrl("github", "https://app.example.com/done?x=1"));
    expect(`${url.origin}${url.pathname}`).toBe("https://api.example.com/api/auth/oauth/github");
    expect(url.searchParams.get("redirectTo")).toBe("https://app.example.com/done?x=1");
    const challenge = url.searchParams.get("codeChallenge") as string;
    expect(challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await client.auth.completeOAuth("https://app.example.com/done")).toBeNull();
    const signedIn = await client.auth.completeOAuth(new URL("https://app.example.com/done?code=one-time"));
    expect(signedIn?.accessToken).toBe("access-3");
    const body = server.sent[0]?.body as { code: string; codeVerifier: string };
    expect(body.code).toBe("one-time");
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(body.codeVerifier)));
    expect(
      btoa(String.fromCharCode(...digest))
        .replace(/\+/g, "-")
        .replace(/\//g, "_")
        .replace(/=+$/, ""),
    ).toBe(challenge);
    expect(events).toEqual(["SIGNED_IN"]);
    // The verifier is spent: a code arriving without a sign-in started here is refused before any request.
    await expect(client.auth.completeOAuth("https://app.example.com/done?code=planted")).rejects.toMatchObject({
      code: "INVALID_OAUTH_CODE",
    });
    expect(server.sent).toHaveLength(1);
    await client.auth.oauthUrl("github", "https://app.example.com/done");
    await expect(client.auth.completeOAuth("https://app.example.com/done?error=FORBIDDEN")).rejects.toMatchObject({
      status: 403,
      code: "FORBIDDEN",
    });
    client.close();
  });
});
