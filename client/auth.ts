/**
 * `client.auth`: the accounts service (`/api/auth/...`, docs/auth.md) with a session kept in a
 * storage adapter. Access tokens are refreshed a minute before they expire, by a timer and on
 * demand; a refresh token is spent on use, so refreshes are single-flight (and locked across tabs).
 */
import type { AuthUser, SessionBody } from "../shared/config";
import { ERROR_STATUS, isErrorCode } from "../shared/error-codes";
import { type AuthStorage, DEFAULT_STORAGE_KEY, SessionStore, defaultStorage } from "./auth-storage";
import { ActorbaseError, errorFrom } from "./errors";

export type { AuthUser } from "../shared/config";

/** A signed-in session: the server's tokens and the user they belong to. */
export interface AuthSession {
  accessToken: string;
  /** Spent by the next refresh; presenting a spent one again ends the session. */
  refreshToken: string;
  /** When the access token expires (ms since the epoch). */
  expiresAt: number;
  tokenType: "Bearer";
  user: AuthUser;
}

/** What `onChange` reports: a new session, a refreshed one, the session ended, or its user changed. */
export type AuthEvent = "SIGNED_IN" | "TOKEN_REFRESHED" | "SIGNED_OUT" | "USER_UPDATED";
export type AuthListener = (event: AuthEvent, session: AuthSession | null) => void;

export interface AuthOptions {
  /** Where the session is kept (default: `localStorage` when there is one, else memory). */
  storage?: AuthStorage;
  /** The storage key (default `actorbase.session`); different keys keep separate sessions. */
  storageKey?: string;
}

export interface Credentials {
  email: string;
  password: string;
}

/** A change of the user: new `data`, or a new password given the current one. */
export type UserChange = { data: Record<string, unknown> } | { password: string; currentPassword: string };

/** Refresh when the access token has less than this left. */
const REFRESH_MARGIN_MS = 60_000;
/** After a failed timed refresh (offline, 5xx, 429), try again this much later. */
const RETRY_MS = 30_000;
/** setTimeout's largest delay; longer ones fire at once. */
const MAX_DELAY_MS = 2 ** 31 - 1;

export class AuthClient {
  readonly #baseUrl: string;
  readonly #fetch: typeof fetch;
  readonly #store: SessionStore;
  readonly #listeners = new Set<AuthListener>();
  readonly #restored: Promise<void>;
  #session: AuthSession | null = null;
  #refreshing: Promise<AuthSession> | null = null;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #closed = false;
  /** After a refresh failed for another reason than a dead session, none is tried on demand before this time. */
  #noRefreshUntil = 0;

  constructor(baseUrl: string, fetchImpl: typeof fetch, options: AuthOptions = {}) {
    this.#baseUrl = baseUrl;
    this.#fetch = fetchImpl;
    this.#store = new SessionStore(options.storage ?? defaultStorage(), options.storageKey ?? DEFAULT_STORAGE_KEY);
    this.#restored = this.#store.read().then((session) => {
      this.#session = session;
      this.#schedule();
    });
  }

  /** Creates an account with email and password and signs in (409 `EMAIL_TAKEN` if the email has one). */
  signUp({ email, password, data }: Credentials & { data?: Record<string, unknown> }): Promise<AuthSession> {
    return this.#signIn("/api/auth/signup", { email, password, ...(data === undefined ? {} : { data }) });
  }

  /** Signs in with email and password (401 `INVALID_CREDENTIALS`). */
  signIn({ email, password }: Credentials): Promise<AuthSession> {
    return this.#signIn("/api/auth/signin", { email, password });
  }

  /** Signs in as a new anonymous user; `link` later gives it an email and password, keeping its id. */
  signInAnonymously(): Promise<AuthSession> {
    return this.#signIn("/api/auth/anonymous", {});
  }

  /** Gives the signed-in anonymous user an email and password; the user id (and its data) stay. */
  async link({ email, password }: Credentials): Promise<AuthSession> {
    const session = toSession(await this.#authorized<SessionBody>("POST", "/api/auth/link", { email, password }));
    await this.#set(session, "SIGNED_IN");
    return session;
  }

  /**
   * Ends this session (`scope: "all"`: every session of the user) and forgets it locally, even when
   * the server cannot be reached (the error is thrown after).
   */
  async signOut({ scope }: { scope?: "session" | "all" } = {}): Promise<void> {
    await this.#restored;
    if (!this.#session) return;
    try {
      const token = await this.accessToken();
      if (token) await this.#send("POST", "/api/auth/signout", scope ? { scope } : undefined, token);
    } catch (error) {
      // SESSION_ENDED: it had ended already. Anything else (an expired token after a failed
      // refresh, say) may have left the server's session alive: the caller hears of it.
      if (!(error instanceof ActorbaseError && error.code === "SESSION_ENDED")) throw error;
    } finally {
      await this.#set(null, "SIGNED_OUT");
    }
  }

  /**
   * Exchanges the refresh token for a new session. Concurrent calls share one request; a session
   * another tab refreshed meanwhile is adopted instead. On 401 the session is gone: signed out.
   */
  refresh(): Promise<AuthSession> {
    this.#refreshing ??= this.#refreshOnce().finally(() => (this.#refreshing = null));
    return this.#refreshing;
  }

  /** The current session, or null when signed out. */
  async session(): Promise<AuthSession | null> {
    await this.#restored;
    return this.#session;
  }

  /** The signed-in user, fresh from the server. */
  async user(): Promise<AuthUser> {
    const { user } = await this.#authorized<{ user: AuthUser }>("GET", "/api/auth/user");
    return this.#updated(user);
  }

  /** Changes the user's `data`, or its password (which ends the user's other sessions). */
  async updateUser(change: UserChange): Promise<AuthUser> {
    const { user } = await this.#authorized<{ user: AuthUser }>("PATCH", "/api/auth/user", change);
    return this.#updated(user);
  }

  /** Mails the signed-in user a token that proves their address (see `verifyEmail`). */
  async requestVerification(): Promise<void> {
    await this.#authorized("POST", "/api/auth/verify/request");
  }

  /** Spends a verification token from the mail: the user's email is verified. */
  async verifyEmail(token: string): Promise<AuthUser> {
    const { user } = await this.#send<{ user: AuthUser }>("POST", "/api/auth/verify", { token });
    return this.#updated(user);
  }

  /** Mails a password reset token if the email has an account (the answer does not say whether). */
  async recover(email: string): Promise<void> {
    await this.#send("POST", "/api/auth/recover", { email });
  }

  /** Spends a reset token to set a new password; every session of that user ends (this one too). */
  async resetPassword(token: string, password: string): Promise<AuthUser> {
    const { user } = await this.#send<{ user: AuthUser }>("POST", "/api/auth/reset", { token, password });
    await this.#restored;
    if (this.#session?.user.id === user.id) await this.#set(null, "SIGNED_OUT");
    return user;
  }

  /**
   * Where to send the browser to sign in with `provider`; it comes back to `redirectTo?code=...` (or
   * `?error=...`). A PKCE verifier is kept in the storage adapter, and only the code of this sign-in
   * can be exchanged with it: a code from someone else's sign-in (a link an attacker sends) cannot.
   */
  async oauthUrl(provider: string, redirectTo: string): Promise<string> {
    const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
    await this.#store.setOAuthVerifier(verifier);
    const challenge = base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))));
    const query = `redirectTo=${encodeURIComponent(redirectTo)}&codeChallenge=${challenge}`;
    return `${this.#baseUrl}/api/auth/oauth/${encodeURIComponent(provider)}?${query}`;
  }

  /** Signs in with the one-time code the OAuth redirect brought back, proving this client started the sign-in. */
  async exchangeCode(code: string): Promise<AuthSession> {
    const codeVerifier = await this.#store.oauthVerifier();
    if (codeVerifier === null)
      throw new ActorbaseError(400, "INVALID_OAUTH_CODE", "No OAuth sign-in was started by this client; start one with oauthUrl().");
    await this.#store.setOAuthVerifier(null);
    return this.#signIn("/api/auth/oauth/exchange", { code, codeVerifier });
  }

  /**
   * Finishes an OAuth redirect: exchanges the URL's `code`, throws for its `error`, and returns
   * null for a URL that carries neither. Remove the code from the address bar afterwards.
   */
  async completeOAuth(url?: string | URL): Promise<AuthSession | null> {
    const params = new URL(url ?? currentUrl()).searchParams;
    const error = params.get("error");
    if (error !== null) {
      await this.#store.setOAuthVerifier(null);
      throw oauthError(error, params.get("error_description"));
    }
    const code = params.get("code");
    return code === null ? null : this.exchangeCode(code);
  }

  /** Calls `listener` after every sign-in, refresh, sign-out and user change; returns the unsubscribe. */
  onChange(listener: AuthListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * The access token to send (REST calls, socket connections): refreshed first when it expires
   * within a minute; null when signed out. Never throws: if a refresh fails for another reason
   * than a dead session (offline, 5xx), the current token goes and the server judges it.
   */
  async accessToken(): Promise<string | null> {
    await this.#restored;
    const session = this.#session;
    if (!session) return null;
    if (session.expiresAt - Date.now() > REFRESH_MARGIN_MS) return session.accessToken;
    // A socket asks again within a second when its token is about to expire: while the server
    // cannot refresh (offline, 5xx, 429), the current token goes without asking it again.
    if (Date.now() < this.#noRefreshUntil) return session.accessToken;
    try {
      await this.refresh();
      return this.#session?.accessToken ?? null;
    } catch (error) {
      // The session is gone, or another took its place meanwhile (then that one's token goes).
      if (isUnauthorized(error)) return this.#session?.accessToken ?? null;
      this.#noRefreshUntil = Date.now() + RETRY_MS;
      return session.accessToken;
    }
  }

  /** Stops the refresh timer; the session stays stored. */
  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  async #signIn(path: string, body: object): Promise<AuthSession> {
    await this.#restored;
    const session = toSession(await this.#send<SessionBody>("POST", path, body));
    await this.#set(session, "SIGNED_IN");
    return session;
  }

  async #refreshOnce(): Promise<AuthSession> {
    await this.#restored;
    return this.#store.withLock(async () => {
      const current = this.#session;
      if (!current) throw new ActorbaseError(401, "AUTH_REQUIRED", "Not signed in: there is no session to refresh.");
      const stored = await this.#store.read();
      if (stored && stored.refreshToken !== current.refreshToken && stored.expiresAt > current.expiresAt) {
        // Another tab refreshed (unless this client signed out or in while reading).
        if (this.#session === current) await this.#set(stored, stored.user.id === current.user.id ? "TOKEN_REFRESHED" : "SIGNED_IN");
        return stored;
      }
      let next: AuthSession;
      try {
        next = toSession(await this.#send<SessionBody>("POST", "/api/auth/refresh", { refreshToken: current.refreshToken }));
      } catch (error) {
        if (isUnauthorized(error) && this.#session === current) await this.#set(null, "SIGNED_OUT");
        throw error;
      }
      if (this.#session !== current) {
        // Signed out or in again while the request ran: that newer state stands, and the session
        // this refresh renewed, which nothing here holds any more, is ended on the server.
        this.#send("POST", "/api/auth/signout", undefined, next.accessToken).catch(() => {});
        throw new ActorbaseError(401, "SESSION_ENDED", "The client signed out or in while this refresh ran.");
      }
      await this.#set(next, "TOKEN_REFRESHED");
      return next;
    });
  }

  /**
   * Calls a route that needs the session (401 `AUTH_REQUIRED` when signed out). `SESSION_ENDED`
   * means it ended elsewhere (signed out everywhere, a password reset): forget it here too.
   */
  async #authorized<T>(method: string, path: string, body?: unknown): Promise<T> {
    const token = await this.accessToken();
    const session = this.#session;
    if (!token || !session) throw new ActorbaseError(401, "AUTH_REQUIRED", "Not signed in: sign in (or sign in anonymously) first.");
    try {
      return await this.#send<T>(method, path, body, token);
    } catch (error) {
      if (error instanceof ActorbaseError && error.code === "SESSION_ENDED" && this.#session === session)
        await this.#set(null, "SIGNED_OUT");
      throw error;
    }
  }

  /** Keeps the session's copy of the user current; reports a change. */
  async #updated(user: AuthUser): Promise<AuthUser> {
    await this.#restored;
    const session = this.#session;
    if (session?.user.id === user.id && JSON.stringify(session.user) !== JSON.stringify(user))
      await this.#set({ ...session, user }, "USER_UPDATED");
    return user;
  }

  async #set(session: AuthSession | null, event: AuthEvent): Promise<void> {
    if (session === null && this.#session === null) return;
    this.#session = session;
    this.#schedule();
    await this.#store.write(session);
    for (const listener of this.#listeners) {
      try {
        listener(event, session);
      } catch (error) {
        // A listener's bug must not undo a sign-in that happened: report it as uncaught instead.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  /** Refreshes a minute before the access token expires, so open sockets get a fresh one in time. */
  #schedule(delay?: number): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const session = this.#session;
    if (!session || this.#closed) return;
    const wait = delay ?? Math.max(0, session.expiresAt - Date.now() - REFRESH_MARGIN_MS);
    this.#timer = setTimeout(
      () => {
        this.#timer = null;
        if (this.#session !== session) return;
        this.refresh().catch((error: unknown) => {
          if (!isUnauthorized(error) && this.#session === session) this.#schedule(RETRY_MS);
        });
      },
      Math.min(wait, MAX_DELAY_MS),
    );
    // Node: a pending refresh must not keep the process alive.
    (this.#timer as { unref?: () => void }).unref?.();
  }

  async #send<T>(method: string, path: string, body?: unknown, bearer?: string): Promise<T> {
    const headers: Record<string, string> = {};
    if (bearer) headers.Authorization = `Bearer ${bearer}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await this.#fetch(`${this.#baseUrl}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!response.ok) throw await errorFrom(response);
    return (response.status === 204 ? undefined : await response.json()) as T;
  }
}

function toSession({ user, session }: SessionBody): AuthSession {
  return { ...session, tokenType: "Bearer", user };
}

function isUnauthorized(error: unknown): boolean {
  return error instanceof ActorbaseError && error.status === 401;
}

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function currentUrl(): string {
  const href = (globalThis as { location?: { href?: string } }).location?.href;
  if (!href) throw new TypeError("completeOAuth needs the URL the provider redirected to (there is no location here).");
  return href;
}

/** The `?error=` of an OAuth redirect as an ActorbaseError (its code when it is one of ours). */
function oauthError(error: string, description: string | null): ActorbaseError {
  const code = isErrorCode(error) ? error : "HTTP_ERROR";
  const status = isErrorCode(error) ? ERROR_STATUS[error] : 400;
  return new ActorbaseError(status, code, description ?? `The sign-in was not completed: ${error}.`);
}
