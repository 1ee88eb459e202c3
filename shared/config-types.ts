/**
 * The configuration's types and the platform's fixed names and defaults: what a config declares
 * (namespaces, tables, columns, rules, rate-limit policies, accounts) and what it resolves to.
 * `defineConfig` (config.ts) validates a config against them; everything here is re-exported there.
 */

/** Column types. `array` is a JSON array, `json` any JSON value. */
export type ColumnType = "string" | "text" | "integer" | "number" | "boolean" | "json" | "array";

export const COLUMN_TYPES: readonly ColumnType[] = ["string", "text", "integer", "number", "boolean", "json", "array"];

export interface ColumnConfig {
  type: ColumnType;
  /** Insert must supply a non-null value (unless `default` is set). */
  required?: boolean;
  /** Value used when an insert omits the column. Must be valid for the column. */
  default?: unknown;
  /** A unique index is created; duplicates answer 409. Usable as `?onConflict=<column>`. */
  unique?: boolean;
  /** Maximum length in characters (string, text) or items (array). */
  maxLength?: number;
  /** Allowed values (string columns). */
  enum?: readonly string[];
  /** Inclusive numeric bounds (integer, number). */
  min?: number;
  max?: number;
}

export interface IndexConfig {
  columns: readonly string[];
  unique?: boolean;
}

/** The signed-in caller as rules see it. Anonymous callers are `null`; the service key bypasses rules. */
export interface RuleAuth {
  sub: string;
  claims: Record<string, unknown>;
}

export interface RuleBlock {
  /** `user:alice` or `public`. */
  name: string;
  namespace: string;
  /** The dynamic part (`alice`), or `null` for a static namespace. */
  id: string | null;
}

export type RuleOp = "read" | "insert" | "update" | "delete";

export interface RuleContext {
  auth: RuleAuth | null;
  block: RuleBlock;
  table: string | null;
  op: RuleOp;
  /** The stored row (get, update, delete, realtime events); absent for block-level checks and lists. */
  row?: Record<string, unknown>;
  /** The incoming data (insert, update). */
  data?: Record<string, unknown>;
}

/**
 * A rule allows (`true`), denies (`false`), or allows only rows matching a filter written in the
 * query grammar (`"owner=eq.alice"`), which lists apply in SQL and gets and events check per row.
 * A rule that throws denies. No rule means denied (deny by default).
 */
export type Rule = (ctx: RuleContext) => boolean | string;

export interface RulesConfig {
  read?: Rule;
  insert?: Rule;
  update?: Rule;
  delete?: Rule;
  /** Shorthand for insert, update and delete when those are not given. */
  write?: Rule;
}

export interface TableConfig {
  columns: Record<string, ColumnConfig>;
  indexes?: readonly IndexConfig[];
  /** Columns indexed for full-text search (`?search=`). String or text columns. */
  search?: readonly string[];
  /** Per-table rules; each op falls back to the namespace's rule. */
  rules?: RulesConfig;
}

export interface NamespaceConfig {
  /** `dynamic`: blocks are `<namespace>:<id>`; `static`: the one block `<namespace>`. */
  kind: "dynamic" | "static";
  tables: Record<string, TableConfig>;
  rules?: RulesConfig;
}

export type RateLimitAlgorithm = "gcra" | "token_bucket" | "sliding_window" | "fixed_window";

export const RATE_LIMIT_ALGORITHMS: readonly RateLimitAlgorithm[] = ["gcra", "token_bucket", "sliding_window", "fixed_window"];

export interface RateLimitPolicyConfig {
  /** Requests allowed per period. */
  limit: number;
  periodMs: number;
  /** Extra capacity for bursts (gcra, token_bucket); defaults to 0 (capacity = limit). */
  burst?: number;
  algorithm?: RateLimitAlgorithm;
  /** Fixed windows aligned to the epoch (calendar minutes, hours) instead of the first request. */
  aligned?: boolean;
  /** A signed-in caller may use this policy on keys prefixed with its own `sub` (`alice:...`). */
  public?: boolean;
}

export interface LimitsConfig {
  /** Largest request body in bytes. */
  maxBodyBytes: number;
  /** Most rows in one insert or batch. */
  maxRowsPerWrite: number;
  /** Largest `limit` on a list. */
  maxPageSize: number;
  defaultPageSize: number;
  /** Deepest `or=()`/`and=()` nesting. */
  maxFilterDepth: number;
  /** Longest query string, in characters. */
  maxFilterLength: number;
  /** Changes kept per block for `since` replays and `changesSince`. */
  changeLogSize: number;
}

/** A user of the accounts service as `auth.claims` sees it (the same shape `GET /api/auth/user` answers). */
export interface AuthUser {
  id: string;
  email: string | null;
  emailVerified: boolean;
  anonymous: boolean;
  createdAt: string;
  data: Record<string, unknown>;
}

/**
 * What signup, signin, refresh, link and the OAuth code exchange answer: the user and the session
 * (`expiresAt`: when the access token expires, ms since the epoch). The Worker writes it, the client reads it.
 */
export interface SessionBody {
  user: AuthUser;
  session: { accessToken: string; refreshToken: string; expiresAt: number; tokenType: "Bearer" };
}

/** A limit on the accounts routes, per email or per client IP. */
export interface AuthLimitConfig {
  limit: number;
  periodMs: number;
}

/**
 * An OAuth sign-in provider. `oidc` is any OpenID Connect issuer, found by discovery; `google` is
 * one with its issuer filled in; `github` is GitHub's OAuth app flow. Client ids, secrets and an
 * `oidc` issuer come from the environment (`OAUTH_<NAME>_CLIENT_ID`, `OAUTH_<NAME>_CLIENT_SECRET`,
 * `OAUTH_<NAME>_ISSUER`, NAME upper-cased), so one config serves every deployment.
 */
export interface OAuthProviderConfig {
  kind: "oidc" | "google" | "github";
  /** For `oidc`, when OAUTH_<NAME>_ISSUER is not set. */
  issuer?: string;
  /** Scopes to ask for (defaults: `openid email profile`; GitHub `read:user user:email`). */
  scopes?: readonly string[];
  /**
   * Whether an email this provider calls verified is trusted: it signs in to (and links with) the
   * account that has that email. Default: true for `google` and `github`, false for `oidc`, whose
   * issuer may let people claim any address. Untrusted, the provider's sign-ins get accounts of
   * their own, without an email.
   */
  linkByEmail?: boolean;
}

/** The accounts service (docs/auth.md). Every field has a default. */
export interface AuthConfig {
  /** The `iss` of the access tokens the server signs (default `actorbase`). */
  issuer?: string;
  /** Access-token lifetime in seconds (default 900). */
  accessTokenTtlSeconds?: number;
  /** How long a session may go unrefreshed before its refresh token stops working, in seconds (default 30 days). */
  refreshTokenTtlSeconds?: number;
  /** Extra claims for a user's access tokens (`sub`, `sid`, `iss`, `iat`, `exp`, `nbf`, `aud`, `jti`, `email` and `anonymous` cannot be replaced). */
  claims?: (user: AuthUser) => Record<string, unknown>;
  /**
   * Attempts at signin, signup and recover per email, and per client IP at the accounts routes that
   * take no session. A refresh counts against the IP only when it fails: signed-in clients behind
   * one address renew freely, guessing is limited.
   */
  rateLimits?: { email?: AuthLimitConfig; ip?: AuthLimitConfig };
  /** OAuth providers by name (the `<provider>` of `/api/auth/oauth/<provider>`). */
  providers?: Record<string, OAuthProviderConfig>;
  /**
   * Where OAuth sign-in may send the browser back to: URL prefixes (`https://app.example.com/`).
   * The server's own origin and `AUTH_REDIRECT_URLS` are allowed too.
   */
  redirectUrls?: readonly string[];
}

/** The accounts settings after validation, with defaults filled in. */
export interface ResolvedAuthConfig {
  issuer: string;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  claims: ((user: AuthUser) => Record<string, unknown>) | null;
  rateLimits: { email: AuthLimitConfig; ip: AuthLimitConfig };
  providers: Record<string, OAuthProviderConfig>;
  redirectUrls: readonly string[];
}

export const DEFAULT_AUTH: ResolvedAuthConfig = {
  issuer: "actorbase",
  accessTokenTtlSeconds: 900,
  refreshTokenTtlSeconds: 30 * 24 * 3600,
  claims: null,
  rateLimits: { email: { limit: 10, periodMs: 15 * 60_000 }, ip: { limit: 100, periodMs: 15 * 60_000 } },
  providers: {},
  redirectUrls: [],
};

export interface ActorbaseConfig {
  namespaces: Record<string, NamespaceConfig>;
  auth?: AuthConfig;
  rateLimits?: {
    policies?: Record<string, RateLimitPolicyConfig>;
    /** The policy that protects `/api/*` per caller; `null` turns the platform limiter off. */
    platformPolicy?: string | null;
    /**
     * How many RateLimiterDOs the keys are spread over (default 64); 0 gives every key an actor of
     * its own. Changing it forgets the current state of the keys that move (docs/rate-limiting.md).
     */
    shards?: number;
  };
  limits?: Partial<LimitsConfig>;
}

/** The config after validation, with limits filled in. */
export interface ResolvedConfig extends Omit<ActorbaseConfig, "auth"> {
  auth: ResolvedAuthConfig;
  limits: LimitsConfig;
  rateLimits: { policies: Record<string, RateLimitPolicyConfig>; platformPolicy: string | null; shards: number };
}

/** RateLimiterDOs the keys are spread over unless the config says otherwise. */
export const DEFAULT_RATE_LIMIT_SHARDS = 64;
/** Most RateLimiterDOs the keys may be spread over. */
export const MAX_RATE_LIMIT_SHARDS = 4_096;

export const DEFAULT_LIMITS: LimitsConfig = {
  maxBodyBytes: 1_048_576,
  maxRowsPerWrite: 1_000,
  maxPageSize: 1_000,
  defaultPageSize: 50,
  maxFilterDepth: 8,
  maxFilterLength: 4_096,
  changeLogSize: 10_000,
};

/** Names the platform owns: system columns and the query grammar's reserved words. */
export const SYSTEM_COLUMNS = ["id", "createdAt", "updatedAt", "version"] as const;
export const RESERVED_WORDS = ["select", "order", "limit", "offset", "cursor", "count", "search", "or", "and", "onConflict"] as const;

/** Most declared columns per table. */
export const MAX_COLUMNS = 90;
