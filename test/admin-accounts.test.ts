import { env } from "cloudflare:workers";
import { abortAllDurableObjects, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { accountFor } from "../objects/account/contract";
import { unwrap } from "../shared/rpc";
import { type Session, authPost, freshEmail, signUp } from "./helpers/accounts";
import { SERVICE, as, problem } from "./helpers/http";
import { fetchWorker } from "./helpers/worker-fetch";

/** What the operator routes answer for an account. */
type Account = Session["user"] & { disabled: boolean; sessions: number };

const lookup = (query: string, headers: Record<string, string> = SERVICE) => fetchWorker(`/api/admin/accounts?${query}`, { headers });

const setDisabled = (id: string, body: unknown, headers: Record<string, string> = SERVICE) =>
  fetchWorker(`/api/admin/accounts/${id}`, {
    method: "PATCH",
    headers: { ...headers, "Content-Type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });

const endSessions = (id: string, headers: Record<string, string> = SERVICE) =>
  fetchWorker(`/api/admin/accounts/${id}/sessions`, { method: "DELETE", headers });

async function found(query: string): Promise<Account[]> {
  const response = await lookup(query);
  expect(response.status).toBe(200);
  return ((await response.json()) as { items: Account[] }).items;
}

/** A well-formed user id that no account has. */
const nobody = () => `u${"q".repeat(8)}${crypto.randomUUID().replace(/-/g, "").slice(0, 12)}`;

describe("GET /api/admin/accounts", () => {
  it("finds an account by its normalised email and by its id, with the user, the disabled flag and the live sessions", async () => {
    const email = freshEmail("Find");
    const session = await signUp(email, "find password");
    const byEmail = await found(`email=${encodeURIComponent(`  ${email.toUpperCase()} `)}`);
    expect(byEmail).toEqual([{ ...session.user, disabled: false, sessions: 1 }]);
    expect(JSON.stringify(byEmail)).not.toContain("password");
    const byId = await found(`id=${session.user.id}`);
    expect(byId).toEqual(byEmail);
    expect((await authPost("signin", { email, password: "find password" })).status).toBe(200);
    expect((await found(`id=${session.user.id}`))[0]?.sessions).toBe(2);
  });

  it("answers no items for an email or an id that has no account", async () => {
    expect(await found(`email=${encodeURIComponent(freshEmail("nobody"))}`)).toEqual([]);
    const id = nobody();
    expect(await found(`id=${id}`)).toEqual([]);
    await runInDurableObject(env.ACCOUNTS.getByName(id), (_instance, state) => {
      expect(state.storage.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table'").toArray()).toEqual([]);
    });
  });

  it("refuses neither, both, a repeated parameter and a malformed id with 400, and a malformed email with 422", async () => {
    const session = await signUp();
    const email = encodeURIComponent(session.user.email ?? "");
    for (const query of [
      "",
      `email=${email}&id=${session.user.id}`,
      "id=not-a-user",
      `id=${session.user.id}x`,
      `id=${session.user.id}&id=${session.user.id}`,
    ]) {
      const response = await lookup(query);
      expect(response.status, query).toBe(400);
      expect(response.headers.get("Content-Type")).toContain("application/problem+json");
      const body = await problem(response);
      expect(body.code).toBe("INVALID_REQUEST");
      expect(body.detail.length).toBeGreaterThan(10);
    }
    const malformed = await lookup("email=not-an-email");
    expect(malformed.status).toBe(422);
    expect((await problem(malformed)).code).toBe("INVALID_EMAIL");
  });
});

describe("PATCH /api/admin/accounts/:id", () => {
  it("disables an account: its sessions end and the right password gets 403, while a wrong one gets the unknown email's 401", async () => {
    const email = freshEmail("disable");
    const first = await signUp(email, "disable password");
    const second = (await (await authPost("signin", { email, password: "disable password" })).json()) as Session;
    const response = await setDisabled(first.user.id, { disabled: true });
    expect(response.status).toBe(200);
    expect((await response.json()) as Account).toEqual({ ...first.user, disabled: true, sessions: 0 });

    for (const { session } of [first, second]) {
      const refresh = await authPost("refresh", { refreshToken: session.refreshToken });
      expect(refresh.status).toBe(401);
      expect((await problem(refresh)).code).toBe("SESSION_ENDED");
    }
    const right = await authPost("signin", { email, password: "disable password" });
    expect(right.status).toBe(403);
    expect((await problem(right)).code).toBe("ACCOUNT_DISABLED");
    const wrong = await authPost("signin", { email, password: "not the password" });
    const unknown = await authPost("signin", { email: freshEmail("nobody"), password: "not the password" });
    expect(wrong.status).toBe(401);
    expect(await problem(wrong)).toEqual(await problem(unknown));
    expect((await found(`id=${first.user.id}`))[0]).toMatchObject({ disabled: true, sessions: 0 });
  });

  it("lets the user sign in again once enabled", async () => {
    const email = freshEmail("enable");
    const session = await signUp(email, "enable password");
    expect((await setDisabled(session.user.id, { disabled: true })).status).toBe(200);
    expect((await authPost("signin", { email, password: "enable password" })).status).toBe(403);
    const enabled = await setDisabled(session.user.id, { disabled: false });
    expect(enabled.status).toBe(200);
    expect(((await enabled.json()) as Account).disabled).toBe(false);
    const signin = await authPost("signin", { email, password: "enable password" });
    expect(signin.status).toBe(200);
    const again = (await signin.json()) as Session;
    expect((await authPost("refresh", { refreshToken: again.session.refreshToken })).status).toBe(200);
    expect((await found(`id=${session.user.id}`))[0]).toMatchObject({ disabled: false, sessions: 1 });
  });

  it("refuses an anonymous link and new sessions while disabled, and leaves the email free", async () => {
    const anonymous = (await (await authPost("anonymous", {})).json()) as Session;
    expect((await setDisabled(anonymous.user.id, { disabled: true })).status).toBe(200);
    const email = freshEmail("link-disabled");
    const link = await authPost("link", { email, password: "linked password" }, { bearer: anonymous.session.accessToken });
    expect(link.status).toBe(403);
    expect((await problem(link)).code).toBe("ACCOUNT_DISABLED");
    // The claim the refused link made is released: someone else may sign up with the address.
    expect((await authPost("signup", { email, password: "another password" })).status).toBe(201);
    // The OAuth exchange opens its session with startSession; an OAuth callback calls trustEmail first.
    const account = accountFor(env, anonymous.user.id);
    for (const result of [await account.startSession(), await account.trustEmail()]) {
      expect(result.ok).toBe(false);
      if (!result.ok) expect([result.problem.status, result.problem.code]).toEqual([403, "ACCOUNT_DISABLED"]);
    }
  });

  it("answers 404 for an id with no account, writing nothing, and 400 for a malformed id", async () => {
    const id = nobody();
    const missing = await setDisabled(id, { disabled: true });
    expect(missing.status).toBe(404);
    expect((await problem(missing)).code).toBe("ACCOUNT_NOT_FOUND");
    await runInDurableObject(env.ACCOUNTS.getByName(id), (_instance, state) => {
      expect(state.storage.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table'").toArray()).toEqual([]);
    });
    expect((await setDisabled("not-a-user", { disabled: true })).status).toBe(400);
  });

  it("refuses a body that is not an object with a boolean disabled", async () => {
    const session = await signUp();
    const cases: [unknown, number, string][] = [
      ["{not json", 400, "INVALID_JSON"],
      [[], 400, "INVALID_REQUEST"],
      [{}, 400, "INVALID_REQUEST"],
      [{ disabled: "true" }, 400, "INVALID_REQUEST"],
      [{ disabled: 1 }, 400, "INVALID_REQUEST"],
      [{ disabled: true, email: "x@example.com" }, 400, "INVALID_REQUEST"],
    ];
    for (const [body, status, code] of cases) {
      const response = await setDisabled(session.user.id, body);
      expect(response.status, JSON.stringify(body)).toBe(status);
      expect((await problem(response)).code).toBe(code);
    }
    const notJson = await fetchWorker(`/api/admin/accounts/${session.user.id}`, {
      method: "PATCH",
      headers: { ...SERVICE, "Content-Type": "text/plain" },
      body: '{"disabled": true}',
    });
    expect(notJson.status).toBe(415);
    expect((await found(`id=${session.user.id}`))[0]).toMatchObject({ disabled: false, sessions: 1 });
  });
});

describe("DELETE /api/admin/accounts/:id/sessions", () => {
  it("ends every session and reports how many were live; the user can still sign in", async () => {
    const email = freshEmail("end");
    const sessions: Session[] = [await signUp(email, "end password")];
    for (let i = 0; i < 2; i++) sessions.push((await (await authPost("signin", { email, password: "end password" })).json()) as Session);
    const id = sessions[0]?.user.id ?? "";
    const response = await endSessions(id);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ended: 3 });
    for (const { session } of sessions) {
      const refresh = await authPost("refresh", { refreshToken: session.refreshToken });
      expect((await problem(refresh)).code).toBe("SESSION_ENDED");
    }
    const user = await fetchWorker("/api/auth/user", { headers: { Authorization: `Bearer ${sessions[0]?.session.accessToken}` } });
    expect((await problem(user)).code).toBe("SESSION_ENDED");
    expect((await found(`id=${id}`))[0]).toMatchObject({ disabled: false, sessions: 0 });
    expect(await (await endSessions(id)).json()).toEqual({ ended: 0 });
    expect((await authPost("signin", { email, password: "end password" })).status).toBe(200);
  });

  it("answers 404 for an id with no account", async () => {
    const response = await endSessions(nobody());
    expect(response.status).toBe(404);
    expect((await problem(response)).code).toBe("ACCOUNT_NOT_FOUND");
  });
});

describe("the operator accounts routes", () => {
  it("take the service key only: a user's token gets 403 and no credentials 401", async () => {
    const session = await signUp();
    const id = session.user.id;
    const callers: [Record<string, string>, number][] = [
      [{ Authorization: `Bearer ${session.session.accessToken}` }, 403],
      [await as(id), 403],
      [{}, 401],
    ];
    for (const [headers, status] of callers) {
      const answers = [
        await lookup(`id=${id}`, headers),
        await setDisabled(id, { disabled: true }, headers),
        await endSessions(id, headers),
      ];
      for (const answer of answers) {
        expect(answer.status).toBe(status);
        expect((await problem(answer)).code).toBe(status === 401 ? "AUTH_REQUIRED" : "FORBIDDEN");
      }
    }
    expect((await found(`id=${id}`))[0]).toMatchObject({ disabled: false, sessions: 1 });
  });

  it("gives an account made before the disabled flag existed the column on its next wake", async () => {
    const id = nobody();
    await runInDurableObject(env.ACCOUNTS.getByName(id), (_instance, state) => {
      const sql = state.storage.sql;
      // The account table as the first release made it, with no `disabled` column.
      sql.exec(`CREATE TABLE account (
        id TEXT PRIMARY KEY, email TEXT, email_verified INTEGER NOT NULL, anonymous INTEGER NOT NULL,
        password TEXT, data TEXT NOT NULL, created_at INTEGER NOT NULL)`);
      sql.exec(`CREATE TABLE sessions (
        id TEXT PRIMARY KEY, refresh_hash TEXT NOT NULL, created_at INTEGER NOT NULL,
        refreshed_at INTEGER NOT NULL, ended_at INTEGER, end_reason TEXT)`);
      sql.exec("CREATE TABLE spent_refresh (hash TEXT PRIMARY KEY, session_id TEXT NOT NULL, spent_at INTEGER NOT NULL)");
      sql.exec("CREATE TABLE email_tokens (hash TEXT PRIMARY KEY, kind TEXT NOT NULL, expires_at INTEGER NOT NULL, used_at INTEGER)");
      sql.exec("INSERT INTO account VALUES (?, NULL, 0, 1, NULL, '{}', ?)", id, Date.now());
    });
    await abortAllDurableObjects();
    expect((await found(`id=${id}`))[0]).toMatchObject({ id, disabled: false, sessions: 0 });
    expect((await setDisabled(id, { disabled: true })).status).toBe(200);
    const refused = await accountFor(env, id).startSession();
    expect(refused.ok ? null : refused.problem.code).toBe("ACCOUNT_DISABLED");
    expect(unwrap(await accountFor(env, id).view())?.disabled).toBe(true);
  });
});
