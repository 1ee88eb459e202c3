import { env } from "cloudflare:workers";
import { decodeProtectedHeader, decodeJwt } from "jose";
import { describe, expect, it, vi } from "vitest";
import { emailIdentity } from "../objects/identity/contract";
import { unwrap } from "../shared/rpc";
import { type Session, authPost, freshEmail, freshIp, signUp } from "./helpers/accounts";
import { SERVICE, problem } from "./helpers/http";
import { fetchWorker } from "./helpers/worker-fetch";

const bearer = (session: Session) => ({ Authorization: `Bearer ${session.session.accessToken}` });

describe("signup and signin", () => {
  it("signs up with a normalised email and answers the user and a session", async () => {
    const email = freshEmail("Alice");
    const response = await authPost("signup", { email: `  ${email.toUpperCase()} `, password: "s3cret-enough", data: { name: "Alice" } });
    expect(response.status).toBe(201);
    const body = (await response.json()) as Session;
    expect(body.user).toMatchObject({ email: email.toLowerCase(), emailVerified: false, anonymous: false, data: { name: "Alice" } });
    expect(body.user.id).toMatch(/^u[a-z0-9]{20}$/);
    expect(body.session.tokenType).toBe("Bearer");
    expect(body.session.expiresAt).toBeGreaterThan(Date.now() + 14 * 60_000);
    expect(JSON.stringify(body)).not.toContain("s3cret-enough");
    const header = decodeProtectedHeader(body.session.accessToken);
    expect(header.alg).toBe("ES256");
    expect(header.kid).toMatch(/^ab-/);
    const claims = decodeJwt(body.session.accessToken);
    expect(claims).toMatchObject({ sub: body.user.id, iss: "actorbase", email: email.toLowerCase(), anonymous: false });
    expect(typeof claims.sid).toBe("string");
    expect((claims.exp as number) - (claims.iat as number)).toBe(900);
  });

  it("refuses a malformed email, a short or long password and a taken email", async () => {
    const bad = await authPost("signup", { email: "not-an-email", password: "long enough" });
    expect(bad.status).toBe(422);
    expect((await problem(bad)).code).toBe("INVALID_EMAIL");
    const short = await authPost("signup", { email: freshEmail("short"), password: "1234567" });
    expect((await problem(short)).code).toBe("WEAK_PASSWORD");
    const long = await authPost("signup", { email: freshEmail("long"), password: "x".repeat(257) });
    expect(long.status).toBe(422);
    const email = freshEmail("taken");
    await signUp(email);
    const again = await authPost("signup", { email: email.toUpperCase(), password: "another password" });
    expect(again.status).toBe(409);
    expect((await problem(again)).code).toBe("EMAIL_TAKEN");
    const unknownField = await authPost("signup", { email: freshEmail("f"), password: "long enough", admin: true });
    expect(unknownField.status).toBe(400);
  });

  it("signs in; a wrong password and an unknown email get the same answer", async () => {
    const email = freshEmail("bob");
    const first = await signUp(email, "bobs password");
    const ok = await authPost("signin", { email, password: "bobs password" });
    expect(ok.status).toBe(200);
    const signedIn = (await ok.json()) as Session;
    expect(signedIn.user.id).toBe(first.user.id);
    expect(decodeJwt(signedIn.session.accessToken).sid).not.toBe(decodeJwt(first.session.accessToken).sid);
    const wrong = await authPost("signin", { email, password: "not bobs password" });
    const unknown = await authPost("signin", { email: freshEmail("nobody"), password: "not bobs password" });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    const [a, b] = [await problem(wrong), await problem(unknown)];
    expect(a).toEqual(b);
    expect(a.code).toBe("INVALID_CREDENTIALS");
  });

  it("lets one of 1,000 concurrent claims of an email win (the identity actor's serial order)", async () => {
    const identity = emailIdentity(env, freshEmail("race"));
    const results = await Promise.all(
      Array.from({ length: 1_000 }, (_, i) => identity.claim(`u${String(i).padStart(20, "0")}`).then(unwrap)),
    );
    const winners = results.filter((r) => r.claimed);
    expect(winners).toHaveLength(1);
    expect(new Set(results.map((r) => r.accountId)).size).toBe(1);
  });

  it("creates one account for 1,000 concurrent signups of one email through the routes", async () => {
    const email = freshEmail("herd");
    const quiet = vi.spyOn(console, "warn").mockImplementation(() => {}); // 1,000 at once are slow requests, each logged
    const responses = await Promise.all(Array.from({ length: 1_000 }, () => authPost("signup", { email, password: "herd password" })));
    quiet.mockRestore();
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.every((s) => s === 201 || s === 409 || s === 429)).toBe(true);
    const winner = (await responses[statuses.indexOf(201)]!.json()) as Session;
    expect(unwrap(await emailIdentity(env, email).owner())).toBe(winner.user.id);
  });
});

describe("sessions", () => {
  it("reads the user with the access token, and the token opens the user's own block", async () => {
    const session = await signUp();
    const user = await fetchWorker("/api/auth/user", { headers: bearer(session) });
    expect(user.status).toBe(200);
    expect(((await user.json()) as { user: Session["user"] }).user.id).toBe(session.user.id);
    const insert = await fetchWorker(`/api/db/user:${session.user.id}/tables/notes`, {
      method: "POST",
      headers: { ...bearer(session), "Content-Type": "application/json" },
      body: JSON.stringify({ title: "mine" }),
    });
    expect(insert.status).toBe(201);
    const other = await fetchWorker("/api/db/user:someone-else/tables/notes", { headers: bearer(session) });
    expect(other.status).toBe(403);
  });

  it("rotates refresh tokens and ends the session when a spent one comes back", async () => {
    const session = await signUp();
    const ip = freshIp();
    const first = await authPost("refresh", { refreshToken: session.session.refreshToken }, { ip });
    expect(first.status).toBe(200);
    const next = (await first.json()) as Session;
    expect(next.session.refreshToken).not.toBe(session.session.refreshToken);
    expect(decodeJwt(next.session.accessToken).sid).toBe(decodeJwt(session.session.accessToken).sid);
    const reused = await authPost("refresh", { refreshToken: session.session.refreshToken }, { ip });
    expect(reused.status).toBe(401);
    expect((await problem(reused)).code).toBe("REFRESH_TOKEN_REUSED");
    const later = await authPost("refresh", { refreshToken: next.session.refreshToken }, { ip });
    expect(later.status).toBe(401);
    expect((await problem(later)).code).toBe("SESSION_ENDED");
    const user = await fetchWorker("/api/auth/user", { headers: bearer(next) });
    expect((await problem(user)).code).toBe("SESSION_ENDED");
  });

  it("spends a refresh token once under concurrency", async () => {
    const session = await signUp();
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => authPost("refresh", { refreshToken: session.session.refreshToken })),
    );
    expect(answers.filter((r) => r.status === 200)).toHaveLength(1);
  });

  it("refuses malformed and forged refresh tokens with 401", async () => {
    const session = await signUp();
    const [userId, sessionId] = session.session.refreshToken.split(".");
    for (const refreshToken of ["", "abc", `${userId}.${sessionId}.${"A".repeat(43)}`, `${session.session.refreshToken}.x`]) {
      const response = await authPost("refresh", { refreshToken });
      expect(response.status, refreshToken).toBe(401);
      expect((await problem(response)).code).toBe("INVALID_REFRESH_TOKEN");
    }
  });

  it("signs out one session, or all of them", async () => {
    const email = freshEmail("out");
    const a = await signUp(email, "out password");
    const b = (await (await authPost("signin", { email, password: "out password" })).json()) as Session;
    const out = await fetchWorker("/api/auth/signout", { method: "POST", headers: bearer(a) });
    expect(out.status).toBe(204);
    expect((await authPost("refresh", { refreshToken: a.session.refreshToken })).status).toBe(401);
    expect((await authPost("refresh", { refreshToken: b.session.refreshToken })).status).toBe(200);
    const c = (await (await authPost("signin", { email, password: "out password" })).json()) as Session;
    const all = await authPost("signout", { scope: "all" }, { bearer: c.session.accessToken });
    expect(all.status).toBe(204);
    expect((await fetchWorker("/api/auth/user", { headers: bearer(c) })).status).toBe(401);
  });

  it("updates data, and the password only given the current one", async () => {
    const email = freshEmail("upd");
    const session = await signUp(email, "first password");
    const patch = (body: unknown) =>
      fetchWorker("/api/auth/user", {
        method: "PATCH",
        headers: { ...bearer(session), "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
    const data = await patch({ data: { theme: "dark" } });
    expect(((await data.json()) as { user: Session["user"] }).user.data).toEqual({ theme: "dark" });
    const wrong = await patch({ password: "second password", currentPassword: "not it" });
    expect(wrong.status).toBe(401);
    expect((await patch({ password: "second password", currentPassword: "first password" })).status).toBe(200);
    expect((await authPost("signin", { email, password: "first password" })).status).toBe(401);
    expect((await authPost("signin", { email, password: "second password" })).status).toBe(200);
  });

  it("makes anonymous users and links them to an email, keeping the id", async () => {
    const response = await authPost("anonymous", {});
    expect(response.status).toBe(201);
    const anonymous = (await response.json()) as Session;
    expect(anonymous.user).toMatchObject({ anonymous: true, email: null });
    expect(decodeJwt(anonymous.session.accessToken).anonymous).toBe(true);
    const email = freshEmail("linked");
    const linked = await authPost("link", { email, password: "linked password" }, { bearer: anonymous.session.accessToken });
    expect(linked.status).toBe(200);
    const body = (await linked.json()) as Session;
    expect(body.user).toMatchObject({ id: anonymous.user.id, anonymous: false, email });
    const again = await authPost("link", { email: freshEmail("twice"), password: "linked password" }, { bearer: body.session.accessToken });
    expect((await problem(again)).code).toBe("ALREADY_LINKED");
    const signin = await authPost("signin", { email, password: "linked password" });
    expect(((await signin.json()) as Session).user.id).toBe(anonymous.user.id);
  });

  it("keeps accounts routes to this server's tokens and the service key's outbox to the service key", async () => {
    const session = await signUp();
    const outboxAsUser = await fetchWorker("/api/auth/outbox", { headers: bearer(session) });
    expect(outboxAsUser.status).toBe(403);
    expect((await fetchWorker("/api/auth/outbox", { headers: SERVICE })).status).toBe(200);
    expect((await fetchWorker("/api/auth/user")).status).toBe(401);
  });
});

describe("keys", () => {
  it("publishes the public key at /.well-known/jwks.json, with no private part", async () => {
    const session = await signUp();
    const response = await fetchWorker("/.well-known/jwks.json");
    expect(response.status).toBe(200);
    const { keys } = (await response.json()) as { keys: Record<string, unknown>[] };
    const kid = decodeProtectedHeader(session.session.accessToken).kid;
    const key = keys.find((k) => k.kid === kid);
    expect(key).toMatchObject({ kty: "EC", crv: "P-256", alg: "ES256" });
    expect(keys.every((k) => k.d === undefined)).toBe(true);
  });
});
