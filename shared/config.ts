/**
 * `defineConfig`: declares an app's configuration and validates it. The config is TypeScript, bundled
 * into the Worker and every actor at build time, and validated when the module loads so a bad config
 * fails at startup with a message naming the namespace, table or column at fault. The types it
 * checks against live in config-types.ts and are re-exported here, so apps import from one place.
 */
import {
  type ActorbaseConfig,
  type AuthConfig,
  type ColumnConfig,
  type NamespaceConfig,
  type RateLimitPolicyConfig,
  type ResolvedAuthConfig,
  type ResolvedConfig,
  type RulesConfig,
  type TableConfig,
  COLUMN_TYPES,
  DEFAULT_AUTH,
  DEFAULT_LIMITS,
  DEFAULT_RATE_LIMIT_SHARDS,
  MAX_COLUMNS,
  MAX_RATE_LIMIT_SHARDS,
  RATE_LIMIT_ALGORITHMS,
  RESERVED_WORDS,
  SYSTEM_COLUMNS,
} from "./config-types";

export * from "./config-types";

const IDENTIFIER = /^[A-Za-z][A-Za-z0-9_]{0,62}$/;
const NAMESPACE = /^[a-z][a-z0-9_-]{0,62}$/;

/** Thrown at startup for an invalid config; the message names what is wrong and where. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(`actorbase.config.ts: ${message}`);
    this.name = "ConfigError";
  }
}

/**
 * What `defineConfig` returns: the resolved config, which also carries the config as declared in its
 * type only (the key is never set), so `createClient<typeof config>` can type tables without code generation.
 */
export type DefinedConfig<C extends ActorbaseConfig = ActorbaseConfig> = ResolvedConfig & { readonly "~declared"?: C };

/** Marks the keys of `T` that `Shape` does not declare as never-allowed. */
type OnlyKnown<T, Shape> = { [P in Exclude<keyof T, keyof Shape>]?: never };

/**
 * Flags keys the config, a namespace, a table or a column spec does not know (`requird: true`): a
 * generic parameter is exempt from TypeScript's excess-property check, which a plain `ActorbaseConfig` had.
 */
type KnownKeys<C extends ActorbaseConfig> = OnlyKnown<C, ActorbaseConfig> & {
  namespaces: {
    [N in keyof C["namespaces"]]: OnlyKnown<C["namespaces"][N], NamespaceConfig> & {
      tables: {
        [T in keyof C["namespaces"][N]["tables"]]: OnlyKnown<C["namespaces"][N]["tables"][T], TableConfig> & {
          columns: {
            [K in keyof C["namespaces"][N]["tables"][T]["columns"]]: OnlyKnown<C["namespaces"][N]["tables"][T]["columns"][K], ColumnConfig>;
          };
        };
      };
    };
  };
};

/**
 * Declares and validates an Actorbase app. Throws `ConfigError` naming the offending part. Generic only
 * so that the declared namespaces, tables and columns keep their literal types (see `DefinedConfig`).
 */
export function defineConfig<C extends ActorbaseConfig>(config: C & KnownKeys<C>): DefinedConfig<C> {
  validateNamespaces(config.namespaces);
  const limits = { ...DEFAULT_LIMITS, ...config.limits };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isInteger(value) || value <= 0)
      throw new ConfigError(`limits.${name} must be a positive integer, got ${JSON.stringify(value)}`);
  }
  if (limits.maxRowsPerWrite < 1_000) throw new ConfigError("limits.maxRowsPerWrite must be at least 1000");
  if (limits.defaultPageSize > limits.maxPageSize) throw new ConfigError("limits.defaultPageSize must not exceed limits.maxPageSize");
  const policies = config.rateLimits?.policies ?? {};
  validatePolicies(policies);
  const platformPolicy = config.rateLimits?.platformPolicy === undefined ? (policies.api ? "api" : null) : config.rateLimits.platformPolicy;
  if (platformPolicy !== null && !policies[platformPolicy]) {
    throw new ConfigError(`rateLimits.platformPolicy names "${platformPolicy}", which is not in rateLimits.policies`);
  }
  const shards = config.rateLimits?.shards ?? DEFAULT_RATE_LIMIT_SHARDS;
  if (!Number.isInteger(shards) || shards < 0 || shards > MAX_RATE_LIMIT_SHARDS) {
    throw new ConfigError(`rateLimits.shards must be an integer from 0 to ${MAX_RATE_LIMIT_SHARDS}, got ${JSON.stringify(shards)}`);
  }
  return { ...config, auth: resolveAuth(config.auth), limits, rateLimits: { policies, platformPolicy, shards } };
}

function resolveAuth(auth: AuthConfig | undefined): ResolvedAuthConfig {
  const resolved: ResolvedAuthConfig = {
    issuer: auth?.issuer ?? DEFAULT_AUTH.issuer,
    accessTokenTtlSeconds: auth?.accessTokenTtlSeconds ?? DEFAULT_AUTH.accessTokenTtlSeconds,
    refreshTokenTtlSeconds: auth?.refreshTokenTtlSeconds ?? DEFAULT_AUTH.refreshTokenTtlSeconds,
    claims: auth?.claims ?? null,
    rateLimits: {
      email: auth?.rateLimits?.email ?? DEFAULT_AUTH.rateLimits.email,
      ip: auth?.rateLimits?.ip ?? DEFAULT_AUTH.rateLimits.ip,
    },
    providers: auth?.providers ?? {},
    redirectUrls: auth?.redirectUrls ?? [],
  };
  if (typeof resolved.issuer !== "string" || resolved.issuer.length === 0) throw new ConfigError("auth.issuer must be a non-empty string");
  for (const name of ["accessTokenTtlSeconds", "refreshTokenTtlSeconds"] as const) {
    const value = resolved[name];
    if (!Number.isInteger(value) || value < 60)
      throw new ConfigError(`auth.${name} must be an integer of at least 60, got ${JSON.stringify(value)}`);
  }
  if (resolved.claims !== null && typeof resolved.claims !== "function") throw new ConfigError("auth.claims must be a function");
  for (const [name, limit] of Object.entries(resolved.rateLimits)) {
    if (!Number.isInteger(limit.limit) || limit.limit <= 0 || !Number.isInteger(limit.periodMs) || limit.periodMs <= 0)
      throw new ConfigError(`auth.rateLimits.${name} needs a positive integer limit and periodMs`);
  }
  for (const [name, provider] of Object.entries(resolved.providers)) {
    if (!/^[a-z][a-z0-9-]{0,31}$/.test(name)) throw new ConfigError(`auth.providers.${name}: names are lowercase letters, digits and -`);
    if (!["oidc", "google", "github"].includes(provider?.kind))
      throw new ConfigError(`auth.providers.${name}: kind must be "oidc", "google" or "github"`);
    if (provider.linkByEmail !== undefined && typeof provider.linkByEmail !== "boolean")
      throw new ConfigError(`auth.providers.${name}.linkByEmail must be true or false`);
  }
  for (const url of resolved.redirectUrls) {
    if (!/^https?:\/\/[^/]+/.test(url)) throw new ConfigError(`auth.redirectUrls: ${JSON.stringify(url)} is not an http(s) URL`);
  }
  return resolved;
}

function validateNamespaces(namespaces: Record<string, NamespaceConfig>): void {
  if (!namespaces || typeof namespaces !== "object" || Object.keys(namespaces).length === 0) {
    throw new ConfigError("namespaces must declare at least one namespace");
  }
  for (const [ns, nsConfig] of Object.entries(namespaces)) {
    if (!NAMESPACE.test(ns))
      throw new ConfigError(`namespace "${ns}": names are lowercase letters, digits, _ and -, starting with a letter`);
    if (nsConfig.kind !== "dynamic" && nsConfig.kind !== "static") {
      throw new ConfigError(`namespace "${ns}": kind must be "dynamic" or "static", got ${JSON.stringify(nsConfig.kind)}`);
    }
    validateRules(nsConfig.rules, `namespace "${ns}"`);
    const seenTables = new Set<string>();
    for (const [table, tableConfig] of Object.entries(nsConfig.tables ?? {})) {
      const where = `namespace "${ns}", table "${table}"`;
      if (!IDENTIFIER.test(table)) throw new ConfigError(`${where}: table names are letters, digits and _, starting with a letter`);
      if (seenTables.has(table.toLowerCase())) throw new ConfigError(`${where}: duplicate table name (names are case-insensitive)`);
      seenTables.add(table.toLowerCase());
      validateTable(tableConfig, where);
    }
  }
}

function validateTable(table: TableConfig, where: string): void {
  if (!table.columns || typeof table.columns !== "object") throw new ConfigError(`${where}: columns must be an object`);
  // Durable Object SQLite binds at most 100 values per statement; a row write binds one per column
  // plus the system columns.
  if (Object.keys(table.columns).length > MAX_COLUMNS)
    throw new ConfigError(`${where}: at most ${MAX_COLUMNS} columns per table; split the table`);
  const seen = new Map<string, string>();
  for (const [column, spec] of Object.entries(table.columns)) {
    const at = `${where}, column "${column}"`;
    if ((SYSTEM_COLUMNS as readonly string[]).includes(column))
      throw new ConfigError(`${at}: "${column}" is a system column and cannot be declared`);
    if ((RESERVED_WORDS as readonly string[]).includes(column))
      throw new ConfigError(`${at}: "${column}" is a reserved word of the query grammar`);
    if (!IDENTIFIER.test(column)) throw new ConfigError(`${at}: column names are letters, digits and _, starting with a letter`);
    const lower = column.toLowerCase();
    if (seen.has(lower) || (SYSTEM_COLUMNS as readonly string[]).some((c) => c.toLowerCase() === lower)) {
      throw new ConfigError(`${at}: duplicate column name (names are case-insensitive)`);
    }
    seen.set(lower, column);
    if (!COLUMN_TYPES.includes(spec?.type)) {
      throw new ConfigError(`${at}: unknown type ${JSON.stringify(spec?.type)}; use one of ${COLUMN_TYPES.join(", ")}`);
    }
    validateColumnOptions(spec, at);
  }
  for (const [i, index] of (table.indexes ?? []).entries()) {
    if (!Array.isArray(index.columns) || index.columns.length === 0)
      throw new ConfigError(`${where}, index ${i}: columns must be a non-empty array`);
    for (const column of index.columns) {
      if (!table.columns[column] && !(SYSTEM_COLUMNS as readonly string[]).includes(column)) {
        throw new ConfigError(`${where}, index ${i}: unknown column "${column}"`);
      }
    }
  }
  for (const column of table.search ?? []) {
    const spec = table.columns[column];
    if (!spec) throw new ConfigError(`${where}, search: unknown column "${column}"`);
    if (spec.type !== "string" && spec.type !== "text")
      throw new ConfigError(`${where}, search: column "${column}" must be string or text, not ${spec.type}`);
  }
  validateRules(table.rules, where);
}

function validateColumnOptions(spec: ColumnConfig, at: string): void {
  if (spec.maxLength !== undefined && (!Number.isInteger(spec.maxLength) || spec.maxLength <= 0)) {
    throw new ConfigError(`${at}: maxLength must be a positive integer`);
  }
  if (spec.enum !== undefined) {
    if (spec.type !== "string" || !Array.isArray(spec.enum) || spec.enum.length === 0 || spec.enum.some((v) => typeof v !== "string")) {
      throw new ConfigError(`${at}: enum must be a non-empty array of strings on a string column`);
    }
  }
  if ((spec.min !== undefined || spec.max !== undefined) && spec.type !== "integer" && spec.type !== "number") {
    throw new ConfigError(`${at}: min and max apply to integer and number columns only`);
  }
  if (spec.default !== undefined) {
    const problem = checkValue(spec, spec.default);
    if (problem) throw new ConfigError(`${at}: bad default ${JSON.stringify(spec.default)}: ${problem}`);
  }
}

/**
 * Checks one value against its column spec; returns what is wrong, or null. Shared by config
 * validation (defaults) and the DatabaseDO (incoming data), so both judge values alike.
 */
export function checkValue(spec: ColumnConfig, value: unknown): string | null {
  if (value === null) return spec.required ? "required" : null;
  switch (spec.type) {
    case "string":
    case "text":
      if (typeof value !== "string") return `must be a string`;
      if (spec.maxLength !== undefined && [...value].length > spec.maxLength) return `must be at most ${spec.maxLength} characters`;
      if (spec.enum && !spec.enum.includes(value)) return `must be one of ${spec.enum.join(", ")}`;
      return null;
    case "integer":
      if (typeof value !== "number" || !Number.isSafeInteger(value)) return "must be an integer";
      return checkRange(spec, value);
    case "number":
      if (typeof value !== "number" || !Number.isFinite(value)) return "must be a finite number";
      return checkRange(spec, value);
    case "boolean":
      return typeof value === "boolean" ? null : "must be true or false";
    case "array":
      if (!Array.isArray(value)) return "must be an array";
      if (spec.maxLength !== undefined && value.length > spec.maxLength) return `must have at most ${spec.maxLength} items`;
      return null;
    case "json":
      return null;
    default:
      return "has an unknown type";
  }
}

function checkRange(spec: ColumnConfig, value: number): string | null {
  if (spec.min !== undefined && value < spec.min) return `must be at least ${spec.min}`;
  if (spec.max !== undefined && value > spec.max) return `must be at most ${spec.max}`;
  return null;
}

function validateRules(rules: RulesConfig | undefined, where: string): void {
  if (rules === undefined) return;
  for (const [op, rule] of Object.entries(rules)) {
    if (!["read", "insert", "update", "delete", "write"].includes(op))
      throw new ConfigError(`${where}, rules: unknown operation "${op}"; use read, insert, update, delete or write`);
    if (typeof rule !== "function") throw new ConfigError(`${where}, rules.${op}: must be a function`);
  }
}

function validatePolicies(policies: Record<string, RateLimitPolicyConfig>): void {
  for (const [name, policy] of Object.entries(policies)) {
    const at = `rateLimits.policies.${name}`;
    if (!/^[A-Za-z][A-Za-z0-9_-]{0,62}$/.test(name)) throw new ConfigError(`${at}: policy names are letters, digits, _ and -`);
    if (!Number.isInteger(policy.limit) || policy.limit <= 0) throw new ConfigError(`${at}: limit must be a positive integer`);
    if (!Number.isInteger(policy.periodMs) || policy.periodMs <= 0) throw new ConfigError(`${at}: periodMs must be a positive integer`);
    if (policy.burst !== undefined && (!Number.isInteger(policy.burst) || policy.burst < 0))
      throw new ConfigError(`${at}: burst must be a non-negative integer`);
    if (policy.algorithm !== undefined && !RATE_LIMIT_ALGORITHMS.includes(policy.algorithm)) {
      throw new ConfigError(`${at}: unknown algorithm ${JSON.stringify(policy.algorithm)}; use one of ${RATE_LIMIT_ALGORITHMS.join(", ")}`);
    }
  }
}
