/**
 * Operator calls (service key only): the block catalog, the config as JSON, accounts, rate-limit
 * keys and the OpenAPI document. `client.admin` of a client created with `token: <SERVICE_KEY>`.
 */
import type { BlockEntry, BlockPage } from "../shared/catalog";
import type { ColumnType, RateLimitAlgorithm } from "../shared/config";
import { errorFrom } from "./errors";
import { type Transport, request } from "./rest";

/** One block of the catalog (`GET /api/admin/blocks`); statistics lag writes by a few seconds. */
export type BlockInfo = BlockEntry;
export type { BlockPage };

export interface BlockQuery {
  namespace?: string;
  /** Names starting with this (`user:al`). */
  prefix?: string;
  cursor?: string;
  limit?: number;
}

/** A column as `GET /api/admin/schema` describes it. */
export interface ColumnSchema {
  type: ColumnType;
  required?: boolean;
  unique?: boolean;
  default?: unknown;
  enum?: string[];
  maxLength?: number;
  min?: number;
  max?: number;
}

export interface TableSchema {
  columns: Record<string, ColumnSchema>;
  indexes?: { columns: string[]; unique?: boolean }[];
  search?: string[];
  /** Table rules overriding the namespace's, by function name. */
  rules?: Record<string, string>;
}

export interface NamespaceSchema {
  kind: "dynamic" | "static";
  /** Rules by operation (`read`, `insert`, `update`, `delete`, `write`), each a function's name. */
  rules?: Record<string, string>;
  tables: Record<string, TableSchema>;
}

/** The config as JSON: namespaces, tables, rules by name, limits, rate-limit policies, auth. */
export interface AppSchema {
  namespaces: Record<string, NamespaceSchema>;
  limits?: Record<string, unknown>;
  rateLimits?: { policies?: Record<string, Record<string, unknown>>; [key: string]: unknown };
  auth?: Record<string, unknown>;
}

/** An account as the operator sees it. */
export interface Account {
  id: string;
  email: string | null;
  emailVerified: boolean;
  anonymous: boolean;
  /** ISO 8601, as the accounts service writes it. */
  createdAt: string;
  disabled: boolean;
  /** Open sessions. */
  sessions: number;
  [key: string]: unknown;
}

/** Which limits a peek or reset is about: named config policies, or inline values. */
export type RateLimitPolicies =
  | { policy: string | string[] }
  | { limit: number; periodMs: number; burst?: number; algorithm?: RateLimitAlgorithm; aligned?: boolean };

/** A rate-limit decision (a peek's answer): what one more unit would get right now. */
export interface RateLimitState {
  allowed: boolean;
  limit: number;
  remaining: number;
  retryAfterMs: number;
  resetAfterMs: number;
  policies?: Record<string, unknown>[];
}

/** The operator API: `client.admin`. Every call needs the service key (401/403 otherwise). */
export class AdminClient {
  readonly #transport: Transport;
  /** Accounts: find, disable or enable, end sessions. */
  readonly accounts: {
    find(by: { email: string } | { id: string }): Promise<Account[]>;
    setDisabled(id: string, disabled: boolean): Promise<Account>;
    endSessions(id: string): Promise<{ ended: number }>;
  };
  /** Rate-limit keys: peek (changes nothing) and reset (forgets the key's state). */
  readonly rateLimits: {
    peek(key: string, policies: RateLimitPolicies): Promise<RateLimitState>;
    reset(key: string, options?: { policy?: string }): Promise<void>;
  };

  constructor(transport: Transport) {
    this.#transport = transport;
    const t = transport;
    this.accounts = {
      find: async (by) => (await request<{ items: Account[] }>(t, "GET", `/api/admin/accounts${query(by)}`)).items,
      setDisabled: (id, disabled) => request(t, "PATCH", `/api/admin/accounts/${encodeURIComponent(id)}`, { disabled }),
      endSessions: (id) => request(t, "DELETE", `/api/admin/accounts/${encodeURIComponent(id)}/sessions`),
    };
    this.rateLimits = {
      peek: (key, policies) => request(t, "GET", `/api/ratelimit/${encodeURIComponent(key)}${query(policies)}`),
      reset: async (key, options = {}) => {
        await send(t, "DELETE", `/api/ratelimit/${encodeURIComponent(key)}${query(options)}`);
      },
    };
  }

  /** A page of the block catalog, filtered by namespace and name prefix; page on with `nextCursor`. */
  blocks(options: BlockQuery = {}): Promise<BlockPage> {
    return request(this.#transport, "GET", `/api/admin/blocks${query(options)}`);
  }

  /** The config as JSON (`GET /api/admin/schema`). */
  schema(): Promise<AppSchema> {
    return request(this.#transport, "GET", "/api/admin/schema");
  }

  /** The API's OpenAPI 3.1 document (public; sent with the token anyway). */
  openApi(): Promise<Record<string, unknown>> {
    return request(this.#transport, "GET", "/api/openapi.json");
  }
}

/** A query string from an object: arrays repeat the name, undefined and "" are left out. */
function query(params: object): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item !== undefined && item !== "") search.append(name, String(item));
    }
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

/** A request whose answer may have no body (204), throwing `ActorbaseError` on failure. */
async function send(transport: Transport, method: string, path: string): Promise<void> {
  const token = await transport.token();
  const response = await transport.fetch(`${transport.baseUrl}${path}`, {
    method,
    headers: token ? { Authorization: `Bearer ${token}` } : {},
  });
  if (!response.ok) throw await errorFrom(response);
}
