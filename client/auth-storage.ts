/**
 * Where `client.auth` keeps its session between page loads: a storage adapter with the Web Storage
 * shape (sync or async: `localStorage`, React Native's AsyncStorage, a file), `localStorage` by
 * default where the environment has one, memory elsewhere. One key holds the session as JSON.
 */
import type { AuthSession } from "./auth";

/** A key-value store for the session; each method may return a promise. */
export interface AuthStorage {
  getItem(key: string): string | null | undefined | Promise<string | null | undefined>;
  setItem(key: string, value: string): void | Promise<void>;
  removeItem(key: string): void | Promise<void>;
}

export const DEFAULT_STORAGE_KEY = "actorbase.session";

/** A storage that lives as long as the client: nothing survives a restart. */
export function memoryStorage(): AuthStorage {
  const items = new Map<string, string>();
  return {
    getItem: (key) => items.get(key) ?? null,
    setItem: (key, value) => void items.set(key, value),
    removeItem: (key) => void items.delete(key),
  };
}

/** `localStorage` where the environment has a working one (browsers), else memory. */
export function defaultStorage(): AuthStorage {
  try {
    const storage = (globalThis as { localStorage?: AuthStorage }).localStorage;
    if (storage) {
      storage.getItem(DEFAULT_STORAGE_KEY);
      return storage;
    }
  } catch {
    // Sandboxed iframes and some private modes throw on access; Node 25 has a localStorage without methods.
  }
  return memoryStorage();
}

interface LockManager {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
}

/** The session under one key of a storage: validated on read, written in call order. */
export class SessionStore {
  readonly #storage: AuthStorage;
  readonly #key: string;
  #writes: Promise<void> = Promise.resolve();

  constructor(storage: AuthStorage, key: string) {
    this.#storage = storage;
    this.#key = key;
  }

  /** The stored session, or null when there is none or what is stored is not one. */
  async read(): Promise<AuthSession | null> {
    await this.#writes; // never read back a value a pending write is about to replace
    try {
      const text = await this.#storage.getItem(this.#key);
      return text ? parseSession(text) : null;
    } catch {
      return null;
    }
  }

  /** Stores the session, or removes it for null. */
  write(session: AuthSession | null): Promise<void> {
    const key = this.#key;
    this.#writes = this.#writes.then(async () => {
      try {
        await (session ? this.#storage.setItem(key, JSON.stringify(session)) : this.#storage.removeItem(key));
      } catch {
        // A full or unavailable storage must not fail a sign-in: the session still lives in memory.
      }
    });
    return this.#writes;
  }

  /** The PKCE verifier of the OAuth sign-in this client started, kept beside the session until it comes back. */
  async oauthVerifier(): Promise<string | null> {
    try {
      return (await this.#storage.getItem(`${this.#key}.oauth`)) ?? null;
    } catch {
      return null;
    }
  }

  /** Keeps (or, for null, forgets) the verifier of the OAuth sign-in under way. */
  async setOAuthVerifier(verifier: string | null): Promise<void> {
    const key = `${this.#key}.oauth`;
    await (verifier === null ? this.#storage.removeItem(key) : this.#storage.setItem(key, verifier));
  }

  /**
   * Runs `task` holding this key's lock across the browser's tabs (Web Locks), where there are
   * any: tabs share `localStorage`, and two of them spending the same refresh token end the session.
   */
  withLock<T>(task: () => Promise<T>): Promise<T> {
    const locks = (globalThis as { navigator?: { locks?: LockManager } }).navigator?.locks;
    return locks ? locks.request(this.#key, task) : task();
  }
}

/** A stored session, checked field by field (storage is shared with other code and other versions). */
function parseSession(text: string): AuthSession | null {
  try {
    const value = JSON.parse(text) as Partial<AuthSession> | null;
    const user = value?.user;
    if (
      typeof value?.accessToken !== "string" ||
      typeof value.refreshToken !== "string" ||
      typeof value.expiresAt !== "number" ||
      typeof user !== "object" ||
      user === null ||
      typeof user.id !== "string"
    )
      return null;
    return { ...value, tokenType: "Bearer" } as AuthSession;
  } catch {
    return null;
  }
}
