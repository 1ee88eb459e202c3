// The console shell: sign-in with the service key (kept in sessionStorage for this tab only), the
// navigation and the hash router (`#/blocks`, `#/tables/<block>/<table>`, `#/tail/<block>`, ...).
import { useCallback, useEffect, useMemo, useState } from "preact/hooks";
import { type ActorbaseClient, createClient } from "../../client/index";
import { AccountsPage } from "./accounts";
import { BlocksPage } from "./blocks";
import { ExplorerPage } from "./explorer";
import { RateLimitsPage } from "./rate-limits";
import { SchemaPage } from "./schema";
import { type Session, SessionContext, describe, isRefused } from "./session";
import { TablePage } from "./table";
import { TailPage } from "./tail";

const KEY_STORAGE = "actorbase.console.serviceKey";

const PAGES = [
  ["blocks", "Blocks"],
  ["schema", "Schema"],
  ["tables", "Tables"],
  ["rate-limits", "Rate limits"],
  ["accounts", "Accounts"],
  ["explorer", "API explorer"],
] as const;

/** The route from the location's hash: the page name and its decoded arguments. */
function route(hash: string): { page: string; args: string[] } {
  const [page = "", ...args] = hash.replace(/^#\/?/, "").split("/");
  return { page: page || "blocks", args: args.map(decodeArg) };
}

/** A hash argument, decoded; a malformed escape (`%E0`) is kept as typed rather than blanking the page. */
function decodeArg(arg: string): string {
  try {
    return decodeURIComponent(arg);
  } catch {
    return arg;
  }
}

/** The whole console: the sign-in form until a key works, then the pages. */
export function App() {
  const [session, setSession] = useState<Session | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [checking, setChecking] = useState(false);
  // A key this tab kept is checked before anything shows, so a reload does not flash the sign-in form.
  const [restoring, setRestoring] = useState(() => sessionStorage.getItem(KEY_STORAGE) !== null);

  const signOut = useCallback((reason?: string) => {
    sessionStorage.removeItem(KEY_STORAGE);
    setSession((old) => {
      old?.client.close();
      return null;
    });
    setError(reason ?? null);
  }, []);

  const signIn = useCallback(
    async (key: string) => {
      setChecking(true);
      const client = createClient({ url: location.origin, token: key });
      try {
        const schema = await client.admin.schema();
        sessionStorage.setItem(KEY_STORAGE, key);
        const call = async <T,>(run: (c: ActorbaseClient) => Promise<T>): Promise<T> => {
          try {
            return await run(client);
          } catch (err) {
            if (isRefused(err)) signOut(`The service key was refused: ${describe(err)}`);
            throw err;
          }
        };
        setError(null);
        setSession({ client, key, schema, call });
      } catch (err) {
        client.close();
        sessionStorage.removeItem(KEY_STORAGE);
        setError(isRefused(err) ? `The service key was refused: ${describe(err)}` : `Could not sign in: ${describe(err)}`);
      } finally {
        setChecking(false);
      }
    },
    [signOut],
  );

  useEffect(() => {
    const saved = sessionStorage.getItem(KEY_STORAGE);
    if (saved) void signIn(saved).finally(() => setRestoring(false));
  }, []);

  if (restoring) return <p class="muted">Signing in…</p>;
  if (!session) return <SignIn error={error} checking={checking} onSubmit={signIn} />;
  return (
    <SessionContext.Provider value={session}>
      <Shell onSignOut={() => signOut()} />
    </SessionContext.Provider>
  );
}

function SignIn({ error, checking, onSubmit }: { error: string | null; checking: boolean; onSubmit: (key: string) => void }) {
  const [key, setKey] = useState("");
  return (
    <main id="main" class="signin">
      <h1>Actorbase console</h1>
      <form
        aria-label="Sign in"
        onSubmit={(event) => {
          event.preventDefault();
          onSubmit(key.trim());
        }}
      >
        <label for="service-key">Service key</label>
        <input
          id="service-key"
          name="serviceKey"
          type="password"
          autoComplete="off"
          value={key}
          onInput={(e) => setKey(e.currentTarget.value)}
        />
        <button type="submit" disabled={checking}>
          {checking ? "Signing in…" : "Sign in"}
        </button>
      </form>
      {error ? (
        <p class="error" role="alert" id="signin-error">
          {error}
        </p>
      ) : null}
      <p class="hint">The key is kept in this tab only (sessionStorage) and sent as a bearer token.</p>
    </main>
  );
}

function Shell({ onSignOut }: { onSignOut: () => void }) {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const onChange = () => setHash(location.hash);
    addEventListener("hashchange", onChange);
    return () => removeEventListener("hashchange", onChange);
  }, []);
  const { page, args } = useMemo(() => route(hash), [hash]);
  useEffect(() => {
    const label = PAGES.find(([name]) => name === page)?.[1] ?? (page === "tail" ? "Live tail" : "Console");
    document.title = `${label}${args[0] ? ` · ${args[0]}` : ""} · Actorbase console`;
  }, [page, args]);
  return (
    <>
      <header>
        <span class="brand">Actorbase</span>
        <nav aria-label="Console">
          <ul>
            {PAGES.map(([name, label]) => (
              <li key={name}>
                <a href={`#/${name}`} aria-current={page === name || (page === "tail" && name === "blocks") ? "page" : undefined}>
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <button type="button" class="secondary" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      <main id="main">
        <Page page={page} args={args} />
      </main>
    </>
  );
}

function Page({ page, args }: { page: string; args: string[] }) {
  switch (page) {
    case "blocks":
      return <BlocksPage />;
    case "schema":
      return <SchemaPage />;
    case "tables":
      return <TablePage key={args.join("/")} block={args[0] ?? ""} table={args[1] ?? ""} />;
    case "tail":
      return <TailPage key={args[0]} block={args[0] ?? ""} />;
    case "rate-limits":
      return <RateLimitsPage />;
    case "accounts":
      return <AccountsPage />;
    case "explorer":
      return <ExplorerPage />;
    default:
      return <p>No page {page}. Pick one above.</p>;
  }
}
