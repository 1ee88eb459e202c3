/**
 * The AccountDO's contract: one actor per account (named by the user id), holding the user, the
 * password hash, the sessions with their refresh-token families, and the one-time email tokens.
 * The Worker's accounts routes use only this module; `AccountDO implements AccountRpc`.
 * Imports only `shared/`.
 */
import type { AuthUser } from "../../shared/config";
import type { RpcResult } from "../../shared/rpc";

/** What a new account starts with. An anonymous account has neither email nor password. */
export interface NewAccount {
  id: string;
  email: string | null;
  /** Proven already (by an OAuth provider); signup starts unverified. */
  emailVerified: boolean;
  password: string | null;
  anonymous: boolean;
  data: Record<string, unknown>;
}

/** A session's refresh token as the client receives it once: `<user id>.<session id>.<secret>`. */
export interface SessionGrant {
  id: string;
  refreshToken: string;
  /** When the refresh token stops working unless used (ms since the epoch). */
  refreshExpiresAt: number;
}

/** A user with a new session (signup, signin, refresh, link). */
export interface SignedIn {
  user: AuthUser;
  session: SessionGrant;
}

/** A change through `PATCH /api/auth/user`. A new password needs the current one. */
export interface UserChange {
  data?: Record<string, unknown>;
  password?: string;
  currentPassword?: string;
}

/** Email tokens: `verify` proves an address (24 h), `reset` sets a new password (1 h). */
export type EmailTokenKind = "verify" | "reset";

/** An account as the operator routes show it: the user, whether it is disabled, and how many sessions are live. */
export interface AccountView extends AuthUser {
  disabled: boolean;
  sessions: number;
}

export const EMAIL_TOKEN_TTL_MS: Record<EmailTokenKind, number> = { verify: 24 * 3600_000, reset: 3600_000 };

export interface AccountRpc {
  /** Creates the account (409 if the id is taken). */
  create(account: NewAccount): Promise<RpcResult<AuthUser>>;
  /** Whether the account was created (an identity can outlive a signup that failed half-way). */
  exists(): Promise<RpcResult<boolean>>;
  /** Opens a session without a password: after an OAuth sign-in the Worker has verified, or a signup. */
  startSession(): Promise<RpcResult<SignedIn>>;
  /**
   * An OAuth provider proved the account's email: it becomes verified, and if it was not verified
   * before, the password and sessions set up by whoever registered the address go (so an address
   * registered by someone else cannot keep a way in once its owner signs in with the provider).
   */
  trustEmail(): Promise<RpcResult<AuthUser>>;
  /** Checks the password and opens a session (401 `INVALID_CREDENTIALS` otherwise). */
  signIn(password: string): Promise<RpcResult<SignedIn>>;
  /** Spends a refresh token for the session's next one; a spent one presented again ends the session. */
  refresh(sessionId: string, secret: string): Promise<RpcResult<SignedIn>>;
  /** Ends the caller's session, or every session of the account; the caller's must be alive. */
  signOut(sessionId: string, everywhere: boolean): Promise<RpcResult<{ ended: number }>>;
  /** The user, as long as the session is alive. */
  user(sessionId: string): Promise<RpcResult<AuthUser>>;
  /** Updates `data`, or the password given the current one (other sessions end). */
  update(sessionId: string, change: UserChange): Promise<RpcResult<AuthUser>>;
  /** Turns an anonymous account into one with an email and password (its identity is claimed already). */
  link(sessionId: string, email: string, password: string): Promise<RpcResult<SignedIn>>;
  /** A new single-use email token (`<user id>.<secret>`, replacing earlier ones of its kind) and the address to send it to. */
  emailToken(kind: EmailTokenKind): Promise<RpcResult<{ token: string; email: string }>>;
  /** Spends an email token (and any other of its kind): `verify` marks the email verified, `reset` sets `password` and ends every session. */
  useEmailToken(kind: EmailTokenKind, secret: string, password?: string): Promise<RpcResult<AuthUser>>;
  /** The operator's view of the account, or null when no account has this id (nothing is written then). */
  view(): Promise<RpcResult<AccountView | null>>;
  /**
   * Disables the account (every session ends; signin, link and new sessions answer 403
   * `ACCOUNT_DISABLED`) or enables it again. 404 `ACCOUNT_NOT_FOUND` when no account has this id.
   */
  setDisabled(disabled: boolean): Promise<RpcResult<AccountView>>;
  /** Ends every session of the account, as an operator (404 `ACCOUNT_NOT_FOUND` when there is none); answers how many were live. */
  endSessions(): Promise<RpcResult<{ ended: number }>>;
}

/** The account actor of a user id. */
export function accountFor(env: Env, userId: string): AccountRpc {
  return env.ACCOUNTS.getByName(userId);
}

/** User ids: `u` and 20 lowercase letters or digits (usable as a block id, `user:<id>`). */
export const USER_ID = /^u[a-z0-9]{20}$/;
/** Session ids: 16 lowercase letters or digits. */
export const SESSION_ID = /^[a-z0-9]{16}$/;
