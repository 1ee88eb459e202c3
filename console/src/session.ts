// The signed-in console: the client (sent the service key), the config it read at sign-in, and
// `call`, which every page sends its API calls through so that a refused key ends the session.
import { createContext } from "preact";
import { useContext } from "preact/hooks";
import { type ActorbaseClient, ActorbaseError, type AppSchema } from "../../client/index";

export interface Session {
  client: ActorbaseClient;
  /** The service key (the API explorer sends it on its raw requests). */
  key: string;
  schema: AppSchema;
  /** Runs an API call; a 401 or 403 signs out (the key no longer works) and rethrows. */
  call<T>(run: (client: ActorbaseClient) => Promise<T>): Promise<T>;
}

export const SessionContext = createContext<Session | null>(null);

/** The current session; pages render only inside a signed-in console. */
export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession outside a signed-in console");
  return session;
}

/** True for the answers that mean "this key may not do this": back to sign-in. */
export function isRefused(error: unknown): error is ActorbaseError {
  return error instanceof ActorbaseError && (error.status === 401 || error.status === 403);
}

/** An error as one line for the page: status, code and the server's detail. */
export function describe(error: unknown): string {
  if (error instanceof ActorbaseError) return `${error.status || ""} ${error.code}: ${error.detail}`.trim();
  return error instanceof Error ? error.message : String(error);
}

/** The namespace of a block name (`user:alice` → `user`, `public` → `public`). */
export function namespaceOf(block: string): string {
  const colon = block.indexOf(":");
  return colon === -1 ? block : block.slice(0, colon);
}
