import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { SignJWT, decodeJwt, decodeProtectedHeader, generateKeyPair, importJWK } from "jose";
import { afterEach, describe, expect, it, vi } from "vitest";
import { signingKeys } from "../objects/signing-keys/contract";
import { unwrap } from "../shared/rpc";
import { type Session, authPost, freshEmail, freshIp, signUp } from "./helpers/accounts";
import { SERVICE, problem, token } from "./helpers/http";
import { fetchWorker } from "./helpers/worker-fetch";

interface Mail {
  to: string;
  kind: string;
  token: string;
}

async function lastMail(to: string, kind: string): Promise<Mail> {
  for (let i = 0; i < 50; i++) {
    const response = await fetchWorker(`/api/auth/outbox?to=${encodeURIComponent(to)}`, { headers: SERVICE });
    const { items } = (await response.json()) as { items: Mail[] };
    const mail = items.find((m) => m.kind === kind);
    if (mail) return mail;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`no ${kind} mail to ${to}`);
}

const userWith = (accessToken: string) => fetchWorker("/api/auth/user", { headers: { Authorization: `Bearer ${accessToken}` } });

/** Signs claims with the server's current private key, as the accounts service would. */
async function signAsServer(claims: Record<string, unknown>, exp: number): Promise<string> {
  const { kid, privateJwk } = unwrap(await signingKeys(env).current());
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "ES256", kid })
    .setIssuer("actorbase")
    .setIssuedAt(exp - 900)
    .setExpirationTime(exp)
    .sign(await importJWK(privateJwk, "ES256"));
}

describe("email verification and password recovery", () => {
  it("verifies an email with the mailed token, once", async () => {
    const session = await signUp();
    const request = await fetchWorker("/api/auth/verify/request", {
      method: "POST",
      headers: { Authorization: `Bearer ${session.session.accessToken}` },
    });
    expect(request.status).toBe(202);
    const mail = await lastMail(session.user.email as string, "verify");
    const verified = await authPost("verify", { token: mail.token });
    expect(verified.status).toBe(200);
    expect(((await verified.json()) as Session).user.emailVerified).toBe(true);
    const again = await authPost("verify", { token: mail.token });
    expect(again.status).toBe(400);
    expect((await problem(again)).code).toBe("INVALID_EMAIL_TOKEN");
  });

  it("answers recover alike for known and unknown emails, and a reset ends every session", async () => {
    const email = freshEmail("forgot");
    const session = await signUp(email, "old password");
    const unknown = await authPost("recover", { email: freshEmail("ghost") });
    const known = await authPost("recover", { email });
    expect(unknown.status).toBe(202);
    expect(known.status).toBe(202);
    expect(await unknown.text()).toBe(await known.text());
    const mail = await lastMail(email, "reset");
    const reset = await authPost("reset", { token: mail.token, password: "new password" });
    expect(reset.status).toBe(200);
    expect((await authPost("refresh", { refreshToken: session.session.refreshToken })).status).toBe(401);
    expect((await userWith(session.session.accessToken)).status).toBe(401);
    expect((await authPost("signin", { email, password: "old password" })).status).toBe(401);
    expect((await authPost("signin", { email, password: "new password" })).status).toBe(200);
    const twice = await authPost("reset", { token: mail.token, password: "third password" });
    expect((await problem(twice)).code).toBe("INVALID_EMAIL_TOKEN");
  });

  it("refuses an expired reset token", async () => {
    const email = freshEmail("late");
    const session = await signUp(email, "old password");
    await authPost("recover", { email });
    const mail = await lastMail(email, "reset");
    await runInDurableObject(env.ACCOUNTS.getByName(session.user.id), (_instance, state) => {
      state.storage.sql.exec("UPDATE email_tokens SET expires_at = ?", Date.now() - 1);
    });
    const late = await authPost("reset", { token: mail.token, password: "new password" });
    expect(late.status).toBe(400);
    expect((await problem(late)).code).toBe("INVALID_EMAIL_TOKEN");
    expect((await authPost("signin", { email, password: "old password" })).status).toBe(200);
  });
});

describe("the demo's auth.claims", () => {
  it("puts a verified address in the workspace of its domain, from the next token on", async () => {
    const domain = `team-${crypto.randomUUID().slice(0, 6)}.example.com`;
    const session = await signUp(`ada@${domain}`);
    expect(decodeJwt(session.session.accessToken).workspaces).toEqual([]);
    const bearer = { Authorization: `Bearer ${session.session.accessToken}` };
    const denied = await fetchWorker(`/api/db/workspace:${domain}/tables/tasks`, { headers: bearer });
    expect(denied.status).toBe(403);
    await fetchWorker("/api/auth/verify/request", { method: "POST", headers: bearer });
    const mail = await lastMail(`ada@${domain}`, "verify");
    expect((await authPost("verify", { token: mail.token })).status).toBe(200);
    const refreshed = (await (await authPost("refresh", { refreshToken: session.session.refreshToken })).json()) as Session;
    expect(decodeJwt(refreshed.session.accessToken).workspaces).toEqual([domain]);
    const insert = await fetchWorker(`/api/db/workspace:${domain}/tables/tasks`, {
      method: "POST",
      headers: { Authorization: `Bearer ${refreshed.session.accessToken}`, "Content-Type": "application/json" },
      body: JSON.stringify({ title: "shared by the team" }),
    });
    expect(insert.status).toBe(201);
  });
});

describe("tokens that must not pass", () => {
  it("refuses a token signed by another key, even one naming the server's kid", async () => {
    const session = await signUp();
    const kid = decodeProtectedHeader(session.session.accessToken).kid as string;
    const { privateKey } = await generateKeyPair("ES256");
    const now = Math.floor(Date.now() / 1000);
    for (const header of [
      { alg: "ES256", kid },
      { alg: "ES256", kid: "ab-unknown" },
    ]) {
      const forged = await new SignJWT({ sid: "aaaaaaaaaaaaaaaa" })
        .setProtectedHeader(header)
        .setSubject(session.user.id)
        .setIssuer("actorbase")
        .setIssuedAt(now)
        .setExpirationTime(now + 600)
        .sign(privateKey);
      const response = await userWith(forged);
      expect(response.status).toBe(401);
      expect((await problem(response)).code).toBe("INVALID_TOKEN");
    }
  });

  it("refuses an expired token of the server's own key", async () => {
    const session = await signUp();
    const sid = decodeJwt(session.session.accessToken).sid;
    const expired = await signAsServer({ sub: session.user.id, sid }, Math.floor(Date.now() / 1000) - 120);
    expect((await problem(await userWith(expired))).code).toBe("TOKEN_EXPIRED");
  });

  it("refuses alg confusion: HS256 keyed with the published public key, and alg none", async () => {
    const session = await signUp();
    const kid = decodeProtectedHeader(session.session.accessToken).kid as string;
    const { keys } = (await (await fetchWorker("/.well-known/jwks.json")).json()) as { keys: Record<string, unknown>[] };
    const publicJwk = JSON.stringify(keys.find((k) => k.kid === kid));
    const now = Math.floor(Date.now() / 1000);
    const hs = await new SignJWT({ sid: "aaaaaaaaaaaaaaaa" })
      .setProtectedHeader({ alg: "HS256", kid })
      .setSubject(session.user.id)
      .setIssuer("actorbase")
      .setIssuedAt(now)
      .setExpirationTime(now + 600)
      .sign(new TextEncoder().encode(publicJwk));
    expect((await userWith(hs)).status).toBe(401);
    const none = `${btoa(JSON.stringify({ alg: "none", kid })).replace(/=+$/, "")}.${btoa(
      JSON.stringify({ sub: session.user.id, sid: "x", iss: "actorbase", exp: now + 600 }),
    ).replace(/=+$/, "")}.`;
    expect((await userWith(none)).status).toBe(401);
  });

  it("refuses an external IdP's token on the accounts routes", async () => {
    const external = await token("someone");
    const response = await userWith(external);
    expect(response.status).toBe(401);
    expect((await problem(response)).code).toBe("INVALID_TOKEN");
  });

  it("keeps verifying the old key's tokens after a rotation, and signs with the new key", async () => {
    const before = await signUp();
    const oldKid = decodeProtectedHeader(before.session.accessToken).kid;
    const rotated = await fetchWorker("/api/auth/keys/rotate", { method: "POST", headers: SERVICE });
    expect(rotated.status).toBe(200);
    const after = await signUp();
    expect(decodeProtectedHeader(after.session.accessToken).kid).not.toBe(oldKid);
    expect((await userWith(before.session.accessToken)).status).toBe(200);
    expect((await userWith(after.session.accessToken)).status).toBe(200);
    const { keys } = (await (await fetchWorker("/.well-known/jwks.json")).json()) as { keys: { kid: string }[] };
    expect(keys.map((k) => k.kid)).toContain(oldKid);
    const asUser = await fetchWorker("/api/auth/keys/rotate", {
      method: "POST",
      headers: { Authorization: `Bearer ${after.session.accessToken}` },
    });
    expect(asUser.status).toBe(403);
  });
});

describe("brute force", () => {
  it("limits signin attempts per email across IPs: 429 with Retry-After", async () => {
    const email = freshEmail("brute");
    await signUp(email, "the password");
    const statuses: number[] = [];
    let limited: Response | null = null;
    for (let i = 0; i < 11; i++) {
      const response = await authPost("signin", { email, password: `guess ${i}` });
      statuses.push(response.status);
      if (response.status === 429) limited = response;
    }
    // The signup counted as one attempt for the email; ten fit in the policy.
    expect(statuses.slice(0, 9).every((s) => s === 401)).toBe(true);
    expect(limited).not.toBeNull();
    expect(Number(limited?.headers.get("Retry-After"))).toBeGreaterThan(0);
    expect((await problem(limited as Response)).code).toBe("RATE_LIMITED");
    const right = await authPost("signin", { email, password: "the password" });
    expect(right.status).toBe(429);
  });

  it("limits attempts per client IP; refreshes have their own allowance", async () => {
    const ip = freshIp();
    const statuses: number[] = [];
    let first: Session | null = null;
    for (let i = 0; i < 101; i++) {
      const response = await authPost("anonymous", {}, { ip });
      statuses.push(response.status);
      if (i === 0) first = (await response.json()) as Session;
    }
    expect(statuses.slice(0, 100).every((s) => s === 201)).toBe(true);
    expect(statuses[100]).toBe(429);
    expect((await authPost("anonymous", {}, { ip: freshIp() })).status).toBe(201);
    // Signed-in clients behind the same address still renew their sessions.
    expect((await authPost("refresh", { refreshToken: first?.session.refreshToken }, { ip })).status).toBe(200);
  });

  it("counts failed refreshes per IP, and only those", async () => {
    const ip = freshIp();
    let session = (await (await authPost("anonymous", {}, { ip })).json()) as Session;
    for (let i = 0; i < 150; i++) {
      const response = await authPost("refresh", { refreshToken: session.session.refreshToken }, { ip });
      expect(response.status).toBe(200);
      session = (await response.json()) as Session;
    }
    const [userId, sessionId] = session.session.refreshToken.split(".");
    const statuses: number[] = [];
    for (let i = 0; i < 101; i++) {
      const guess = `${userId}.${sessionId}.${btoa(String(i)).replace(/=+$/, "").padEnd(43, "A")}`;
      statuses.push((await authPost("refresh", { refreshToken: guess }, { ip })).status);
    }
    expect(statuses.slice(0, 100).every((s) => s === 401)).toBe(true);
    expect(statuses[100]).toBe(429);
    // The allowance is the IP's: even the valid token waits now.
    expect((await authPost("refresh", { refreshToken: session.session.refreshToken }, { ip })).status).toBe(429);
    expect((await authPost("refresh", { refreshToken: session.session.refreshToken }, { ip: freshIp() })).status).toBe(200);
  });
});

describe("secrets stay secret", () => {
  afterEach(() => vi.restoreAllMocks());

  it("writes no password or token to the log or into a response other than the session itself", async () => {
    const lines: string[] = [];
    for (const level of ["log", "info", "warn", "error"] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        lines.push(args.map(String).join(" "));
      });
    }
    const email = freshEmail("quiet");
    const password = "quiet-password-123";
    const session = await signUp(email, password);
    await authPost("signin", { email, password: "wrong-password-456" });
    await authPost("recover", { email });
    const mail = await lastMail(email, "reset");
    const refreshed = await authPost("refresh", { refreshToken: session.session.refreshToken });
    const user = await (await userWith(session.session.accessToken)).text();
    const log = lines.join("\n");
    for (const secret of [password, "wrong-password-456", session.session.refreshToken, session.session.accessToken, mail.token]) {
      expect(log).not.toContain(secret);
      expect(user).not.toContain(secret);
    }
    expect(user).not.toContain("pbkdf2");
    expect(await refreshed.text()).not.toContain(password);
  });
});

describe("review fixes", () => {
  it("answers signin for an account without a password like a wrong password", async () => {
    const email = freshEmail("nopass");
    const id = `u${"n".repeat(12)}${crypto.randomUUID().replace(/-/g, "").slice(0, 8)}`;
    unwrap(await env.ACCOUNTS.getByName(id).create({ id, email, emailVerified: true, password: null, anonymous: false, data: {} }));
    unwrap(await env.IDENTITIES.getByName(`email:${email}`).claim(id));
    const answer = await authPost("signin", { email, password: "anything at all" });
    const unknown = await authPost("signin", { email: freshEmail("nobody"), password: "anything at all" });
    expect(answer.status).toBe(401);
    expect(await problem(answer)).toEqual(await problem(unknown));
  });

  it("refuses to sign out everywhere with the token of a session that has ended", async () => {
    const email = freshEmail("ended");
    const a = await signUp(email, "ended password");
    const b = (await (await authPost("signin", { email, password: "ended password" })).json()) as Session;
    expect((await authPost("signout", {}, { bearer: a.session.accessToken })).status).toBe(204);
    const all = await authPost("signout", { scope: "all" }, { bearer: a.session.accessToken });
    expect(all.status).toBe(401);
    expect((await userWith(b.session.accessToken)).status).toBe(200);
  });

  it("lets a new verification link replace the earlier one", async () => {
    const session = await signUp();
    const bearer = { Authorization: `Bearer ${session.session.accessToken}` };
    await fetchWorker("/api/auth/verify/request", { method: "POST", headers: bearer });
    const first = await lastMail(session.user.email as string, "verify");
    await fetchWorker("/api/auth/verify/request", { method: "POST", headers: bearer });
    let second = await lastMail(session.user.email as string, "verify");
    for (let i = 0; second.token === first.token && i < 50; i++) second = await lastMail(session.user.email as string, "verify");
    expect(second.token).not.toBe(first.token);
    expect((await authPost("verify", { token: first.token })).status).toBe(400);
    expect((await authPost("verify", { token: second.token })).status).toBe(200);
  });

  it("limits verification mails per account", async () => {
    const session = await signUp();
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) {
      const response = await fetchWorker("/api/auth/verify/request", {
        method: "POST",
        headers: { Authorization: `Bearer ${session.session.accessToken}`, "CF-Connecting-IP": freshIp() },
      });
      statuses.push(response.status);
    }
    expect(statuses.slice(0, 10).every((s) => s === 202)).toBe(true);
    expect(statuses[10]).toBe(429);
  });

  it("takes over an email whose signup stopped before its account was made, but not a fresh claim", async () => {
    const email = freshEmail("orphan");
    const ghost = `u${"g".repeat(20)}`;
    const identity = env.IDENTITIES.getByName(`email:${email}`);
    unwrap(await identity.claim(ghost));
    expect((await authPost("signup", { email, password: "orphan password" })).status).toBe(409);
    await runInDurableObject(identity, (_instance, state) => {
      state.storage.sql.exec("UPDATE owner SET claimed_at = ?", Date.now() - 120_000);
    });
    const signup = await authPost("signup", { email, password: "orphan password" });
    expect(signup.status).toBe(201);
    const created = (await signup.json()) as Session;
    expect(unwrap(await identity.owner())).toBe(created.user.id);
    expect((await authPost("signin", { email, password: "orphan password" })).status).toBe(200);
  });
});

describe("second review fixes", () => {
  it("keeps a signed-up user's email when they try to link it again", async () => {
    const email = freshEmail("relink");
    const session = await signUp(email, "relink password");
    const again = await authPost("link", { email, password: "relink password" }, { bearer: session.session.accessToken });
    expect((await problem(again)).code).toBe("ALREADY_LINKED");
    expect(unwrap(await env.IDENTITIES.getByName(`email:${email}`).owner())).toBe(session.user.id);
    expect((await authPost("signin", { email, password: "relink password" })).status).toBe(200);
  });

  it("signs out with an empty JSON body", async () => {
    const session = await signUp();
    const out = await fetchWorker("/api/auth/signout", {
      method: "POST",
      headers: { Authorization: `Bearer ${session.session.accessToken}`, "Content-Type": "application/json", "Content-Length": "0" },
      body: "",
    });
    expect(out.status).toBe(204);
  });

  it("writes nothing for a refresh or an email token naming an id nobody has", async () => {
    const id = `u${"z".repeat(10)}${crypto.randomUUID().replace(/-/g, "").slice(0, 10)}`;
    expect((await authPost("refresh", { refreshToken: `${id}.${"a".repeat(16)}.${"A".repeat(43)}` })).status).toBe(401);
    expect((await authPost("verify", { token: `${id}.${"A".repeat(43)}` })).status).toBe(400);
    await runInDurableObject(env.ACCOUNTS.getByName(id), (_instance, state) => {
      expect(state.storage.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table'").toArray()).toEqual([]);
    });
  });
});

describe("an email whose signup never made its account", () => {
  it("is taken over by an OAuth sign-in too, once the claim is old", async () => {
    const { findOrCreateUser } = await import("../workers/routes/auth-oauth");
    const email = freshEmail("oauth-orphan");
    const identity = env.IDENTITIES.getByName(`email:${email}`);
    unwrap(await identity.claim(`u${"h".repeat(20)}`));
    await runInDurableObject(identity, (_instance, state) => {
      state.storage.sql.exec("UPDATE owner SET claimed_at = ?", Date.now() - 120_000);
    });
    const userId = await findOrCreateUser(env, "oidc", { subject: `orphan-${crypto.randomUUID()}`, email, emailVerified: true });
    expect(unwrap(await identity.owner())).toBe(userId);
    expect(unwrap(await env.ACCOUNTS.getByName(userId).exists())).toBe(true);
  });
});
