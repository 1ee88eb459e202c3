import { DurableObject } from "cloudflare:workers";
import config from "../../actorbase.config";
import type { AuthUser } from "../../shared/config";
import { HttpError } from "../../shared/errors";
import { type RpcResult, capture } from "../../shared/rpc";
import { digest, hashPassword, randomId, randomSecret, spendPasswordCheck, verifyPassword } from "../../shared/secrets";
import {
  type AccountRpc,
  type AccountView,
  EMAIL_TOKEN_TTL_MS,
  type EmailTokenKind,
  type NewAccount,
  type SignedIn,
  type UserChange,
} from "./contract";
import { type AccountRow, SCHEMA, type SessionRow, migrate, toAccountView, toUser } from "./tables";

/**
 * One account (docs/auth.md): the user, the password hash, sessions and email tokens. A session is
 * a family of refresh tokens: each refresh spends the current token and issues the next; a spent
 * token presented again means it was stolen or replayed, so the whole session ends. Only digests of
 * tokens are stored. Calls cannot interleave inside a change: each one hashes before it reads its
 * rows and then changes them without awaiting anything (signin and a password change read the hash
 * to check first, and check after hashing that it is still the one they checked), so a refresh
 * token is spent once. An operator may disable the account: its sessions end and no new one opens
 * until it is enabled again.
 */
export class AccountDO extends DurableObject<Env> implements AccountRpc {
  readonly #sql: SqlStorage;
  /** Whether the tables exist: `create` makes them, so a call naming an id nobody has writes nothing. */
  #created: boolean;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    this.#created = this.#sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'account'").toArray().length > 0;
    if (this.#created) migrate(this.#sql);
  }

  create(account: NewAccount): Promise<RpcResult<AuthUser>> {
    return capture(async () => {
      const password = account.password === null ? null : await hashPassword(account.password);
      if (this.#account() !== null) throw new HttpError(409, "EMAIL_TAKEN", "An account with this id exists already.");
      for (const statement of SCHEMA) this.#sql.exec(statement);
      this.#created = true;
      this.#sql.exec(
        "INSERT INTO account (id, email, email_verified, anonymous, password, data, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        account.id,
        account.email,
        account.emailVerified ? 1 : 0,
        account.anonymous ? 1 : 0,
        password,
        JSON.stringify(account.data),
        Date.now(),
      );
      return toUser(this.#required());
    });
  }

  exists(): Promise<RpcResult<boolean>> {
    return capture(() => this.#account() !== null);
  }

  startSession(): Promise<RpcResult<SignedIn>> {
    return capture(async () => {
      const session = await newSession();
      return this.#openSession(enabled(this.#required()), session);
    });
  }

  trustEmail(): Promise<RpcResult<AuthUser>> {
    return capture(() => {
      const account = enabled(this.#required());
      if (account.email_verified === 0) {
        this.#sql.exec("UPDATE account SET email_verified = 1, password = NULL WHERE id = ?", account.id);
        this.#endAll("email proven by an OAuth provider");
      }
      return toUser(this.#required());
    });
  }

  signIn(password: string): Promise<RpcResult<SignedIn>> {
    return capture(async () => {
      const stored = this.#account()?.password ?? null;
      // An account without a password (anonymous, or made by an OAuth sign-in) costs the same work.
      const check =
        stored !== null
          ? await verifyPassword(password, stored)
          : await spendPasswordCheck(password).then(() => ({ ok: false, rehash: false }));
      if (!check.ok) throw wrongCredentials();
      const rehashed = check.rehash ? await hashPassword(password) : null;
      const session = await newSession();
      const account = this.#required();
      if (account.password !== stored) throw wrongCredentials(); // changed while this call was hashing
      enabled(account); // only now: a wrong password answers the same 401 whether or not the account is disabled
      if (rehashed !== null) this.#sql.exec("UPDATE account SET password = ? WHERE id = ?", rehashed, account.id);
      return this.#openSession(account, session);
    });
  }

  refresh(sessionId: string, secret: string): Promise<RpcResult<SignedIn>> {
    return capture(async () => {
      const hash = await digest(secret);
      const next = await newSession();
      const account = this.#account();
      const session = this.#session(sessionId);
      if (account === null || session === null) throw invalidRefresh();
      if (session.ended_at !== null) throw new HttpError(401, "SESSION_ENDED", "This session has ended; sign in again.");
      enabled(account); // disabling ends every session, so this holds only if a session outlived it
      if (hash !== session.refresh_hash) {
        const spent = this.#sql.exec("SELECT 1 FROM spent_refresh WHERE hash = ? AND session_id = ?", hash, sessionId).toArray();
        if (spent.length === 0) throw invalidRefresh();
        this.#end(sessionId, "refresh token reused");
        throw new HttpError(401, "REFRESH_TOKEN_REUSED", "This refresh token was used already, so its session has ended; sign in again.");
      }
      const now = Date.now();
      if (session.refreshed_at + config.auth.refreshTokenTtlSeconds * 1000 <= now) {
        this.#end(sessionId, "expired");
        throw new HttpError(401, "SESSION_ENDED", "This session expired unused; sign in again.");
      }
      this.#sql.exec("INSERT INTO spent_refresh (hash, session_id, spent_at) VALUES (?, ?, ?)", hash, sessionId, now);
      this.#sql.exec("UPDATE sessions SET refresh_hash = ?, refreshed_at = ? WHERE id = ?", next.hash, now, sessionId);
      return { user: toUser(account), session: this.#grant(account.id, sessionId, next.secret, now) };
    });
  }

  signOut(sessionId: string, everywhere: boolean): Promise<RpcResult<{ ended: number }>> {
    return capture(() => {
      this.#alive(sessionId);
      return { ended: everywhere ? this.#endAll("signed out everywhere") : this.#end(sessionId, "signed out") };
    });
  }

  user(sessionId: string): Promise<RpcResult<AuthUser>> {
    return capture(() => {
      this.#alive(sessionId);
      return toUser(this.#required());
    });
  }

  update(sessionId: string, change: UserChange): Promise<RpcResult<AuthUser>> {
    return capture(async () => {
      this.#alive(sessionId);
      let hashed: string | null = null;
      const stored = this.#required().password;
      if (change.password !== undefined) {
        const check = stored !== null ? await verifyPassword(change.currentPassword ?? "", stored) : { ok: false };
        if (!check.ok) throw new HttpError(401, "INVALID_CREDENTIALS", "The current password is wrong.");
        hashed = await hashPassword(change.password);
      }
      this.#alive(sessionId);
      const account = this.#required();
      if (hashed !== null) {
        if (account.password !== stored) throw new HttpError(412, "VERSION_MISMATCH", "The password changed meanwhile; try again.");
        this.#sql.exec("UPDATE account SET password = ? WHERE id = ?", hashed, account.id);
        this.#endAll("password changed", sessionId);
      }
      if (change.data !== undefined) this.#sql.exec("UPDATE account SET data = ? WHERE id = ?", JSON.stringify(change.data), account.id);
      return toUser(this.#required());
    });
  }

  link(sessionId: string, email: string, password: string): Promise<RpcResult<SignedIn>> {
    return capture(async () => {
      const hashed = await hashPassword(password);
      const session = await newSession();
      enabled(this.#required()); // before the session check: disabling ended the session, and this says why
      this.#alive(sessionId);
      const account = this.#required();
      if (account.anonymous === 0)
        throw new HttpError(409, "ALREADY_LINKED", "This account has an email already; only anonymous accounts are linked.");
      this.#sql.exec("UPDATE account SET email = ?, anonymous = 0, password = ? WHERE id = ?", email, hashed, account.id);
      this.#end(sessionId, "linked");
      return this.#openSession(this.#required(), session);
    });
  }

  emailToken(kind: EmailTokenKind): Promise<RpcResult<{ token: string; email: string }>> {
    return capture(async () => {
      const secret = randomSecret();
      const hash = await digest(secret);
      const account = this.#required();
      if (account.email === null) throw new HttpError(422, "INVALID_EMAIL", "This account has no email address.");
      const now = Date.now();
      // A new link replaces the earlier ones of its kind.
      this.#sql.exec("DELETE FROM email_tokens WHERE kind = ? OR expires_at <= ? OR used_at IS NOT NULL", kind, now);
      this.#sql.exec("INSERT INTO email_tokens (hash, kind, expires_at) VALUES (?, ?, ?)", hash, kind, now + EMAIL_TOKEN_TTL_MS[kind]);
      return { token: `${account.id}.${secret}`, email: account.email };
    });
  }

  useEmailToken(kind: EmailTokenKind, secret: string, password?: string): Promise<RpcResult<AuthUser>> {
    return capture(async () => {
      const hash = await digest(secret);
      const hashed = kind === "reset" && password !== undefined ? await hashPassword(password) : null;
      const account = this.#account();
      if (account === null)
        throw new HttpError(400, "INVALID_EMAIL_TOKEN", "This link is invalid, used already or expired; ask for a new one.");
      const row = this.#sql
        .exec<{ expires_at: number; used_at: number | null }>(
          "SELECT expires_at, used_at FROM email_tokens WHERE hash = ? AND kind = ?",
          hash,
          kind,
        )
        .toArray()[0];
      const now = Date.now();
      if (row === undefined || row.used_at !== null || row.expires_at <= now) {
        throw new HttpError(400, "INVALID_EMAIL_TOKEN", "This link is invalid, used already or expired; ask for a new one.");
      }
      if (kind === "reset" && hashed === null) throw new HttpError(422, "WEAK_PASSWORD", "A new password is required.");
      this.#sql.exec("UPDATE email_tokens SET used_at = ? WHERE kind = ? AND used_at IS NULL", now, kind);
      if (kind === "verify") {
        this.#sql.exec("UPDATE account SET email_verified = 1 WHERE id = ?", account.id);
      } else {
        // A reset proves the address too: the link went to it.
        this.#sql.exec("UPDATE account SET password = ?, email_verified = 1 WHERE id = ?", hashed, account.id);
        this.#endAll("password reset");
      }
      return toUser(this.#required());
    });
  }

  view(): Promise<RpcResult<AccountView | null>> {
    return capture(() => {
      const account = this.#account();
      return account === null ? null : toAccountView(account, this.#liveSessions());
    });
  }

  setDisabled(disabled: boolean): Promise<RpcResult<AccountView>> {
    return capture(() => {
      const account = this.#existing();
      this.#sql.exec("UPDATE account SET disabled = ? WHERE id = ?", disabled ? 1 : 0, account.id);
      if (disabled) this.#endAll("account disabled");
      return toAccountView(this.#existing(), this.#liveSessions());
    });
  }

  endSessions(): Promise<RpcResult<{ ended: number }>> {
    return capture(() => {
      this.#existing();
      const live = this.#liveSessions();
      this.#endAll("ended by an operator");
      return { ended: live };
    });
  }

  /** Sessions not ended and refreshed within the refresh-token TTL: the ones whose refresh token still works. */
  #liveSessions(): number {
    const since = Date.now() - config.auth.refreshTokenTtlSeconds * 1000;
    const row = this.#sql
      .exec<{ live: number }>("SELECT COUNT(*) AS live FROM sessions WHERE ended_at IS NULL AND refreshed_at > ?", since)
      .toArray()[0];
    return row?.live ?? 0;
  }

  /** The account, for the operator routes: 404 `ACCOUNT_NOT_FOUND` when no account has this id. */
  #existing(): AccountRow {
    const account = this.#account();
    if (account === null) throw new HttpError(404, "ACCOUNT_NOT_FOUND", "No account has this id; look it up by email first.");
    return account;
  }

  /** Opens a session: a new family whose first refresh token is returned once. Sessions long expired are pruned. */
  #openSession(account: AccountRow, first: NewSession): SignedIn {
    const now = Date.now();
    const ttlMs = config.auth.refreshTokenTtlSeconds * 1000;
    const stale = this.#sql.exec<{ id: string }>("SELECT id FROM sessions WHERE refreshed_at <= ?", now - ttlMs).toArray();
    for (const { id } of stale) {
      this.#sql.exec("DELETE FROM spent_refresh WHERE session_id = ?", id);
      this.#sql.exec("DELETE FROM sessions WHERE id = ?", id);
    }
    const sessionId = randomId(16);
    this.#sql.exec(
      "INSERT INTO sessions (id, refresh_hash, created_at, refreshed_at) VALUES (?, ?, ?, ?)",
      sessionId,
      first.hash,
      now,
      now,
    );
    return { user: toUser(account), session: this.#grant(account.id, sessionId, first.secret, now) };
  }

  #grant(accountId: string, sessionId: string, secret: string, now: number): SignedIn["session"] {
    return {
      id: sessionId,
      refreshToken: `${accountId}.${sessionId}.${secret}`,
      refreshExpiresAt: now + config.auth.refreshTokenTtlSeconds * 1000,
    };
  }

  /** Throws 401 `SESSION_ENDED` unless the session exists and has not ended. */
  #alive(sessionId: string): void {
    const session = this.#session(sessionId);
    if (session === null || session.ended_at !== null) throw new HttpError(401, "SESSION_ENDED", "This session has ended; sign in again.");
  }

  #end(sessionId: string, reason: string): number {
    return this.#sql.exec(
      "UPDATE sessions SET ended_at = ?, end_reason = ? WHERE id = ? AND ended_at IS NULL",
      Date.now(),
      reason,
      sessionId,
    ).rowsWritten;
  }

  /** Ends every live session but `keep`. */
  #endAll(reason: string, keep = ""): number {
    return this.#sql.exec("UPDATE sessions SET ended_at = ?, end_reason = ? WHERE ended_at IS NULL AND id != ?", Date.now(), reason, keep)
      .rowsWritten;
  }

  #session(sessionId: string): SessionRow | null {
    if (!this.#created) return null;
    return this.#sql.exec<SessionRow>("SELECT * FROM sessions WHERE id = ?", sessionId).toArray()[0] ?? null;
  }

  #account(): AccountRow | null {
    if (!this.#created) return null;
    return this.#sql.exec<AccountRow>("SELECT * FROM account LIMIT 1").toArray()[0] ?? null;
  }

  #required(): AccountRow {
    const account = this.#account();
    if (account === null) throw new HttpError(401, "SESSION_ENDED", "This account does not exist; sign in again.");
    return account;
  }
}

/** A refresh secret and its digest, made before a call touches its rows. */
interface NewSession {
  secret: string;
  hash: string;
}

async function newSession(): Promise<NewSession> {
  const secret = randomSecret();
  return { secret, hash: await digest(secret) };
}

/** The account, unless an operator disabled it (403 `ACCOUNT_DISABLED`). */
function enabled(account: AccountRow): AccountRow {
  if (account.disabled === 1)
    throw new HttpError(403, "ACCOUNT_DISABLED", "This account has been disabled by an operator; contact the app's support.");
  return account;
}

function wrongCredentials(): HttpError {
  return new HttpError(401, "INVALID_CREDENTIALS", "The email or password is wrong.");
}

function invalidRefresh(): HttpError {
  return new HttpError(401, "INVALID_REFRESH_TOKEN", "This refresh token is not valid; sign in again.");
}
