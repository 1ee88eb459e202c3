/**
 * The components every part of the document shares: problem details, the accounts and rate-limit
 * shapes, the headers, the path parameters and the security schemes. Table schemas come from the
 * config separately (table-schemas.ts).
 */
import type { ResolvedConfig } from "../../shared/config";
import { RATE_LIMIT_ALGORITHMS } from "../../shared/config";
import { emptyResponse, object, ref, schemaRef } from "./media";
import type { Header, Parameter, ResponseObject, Schema } from "./types";

const ms = (description: string): Schema => ({ type: "integer", description });
const nullable = (type: string, description: string): Schema => ({ type: [type, "null"], description });

/** The schemas that do not depend on the tables. */
export const SHARED_SCHEMAS: Record<string, Schema> = {
  Problem: object(
    {
      type: { type: "string", format: "uri", description: "Identifies the kind of problem." },
      title: { type: "string", description: "The HTTP status text." },
      status: { type: "integer", minimum: 400, maximum: 599 },
      detail: { type: "string", description: "What happened and what to try." },
      code: { type: "string", pattern: "^[A-Z][A-Z0-9_]*$", description: "Stable UPPER_SNAKE code to switch on (docs/api.md#errors)." },
      errors: {
        type: "object",
        additionalProperties: { type: "string" },
        description: "Per field, what is wrong with it (validation failures).",
      },
    },
    ["type", "title", "status", "detail", "code"],
  ),
  User: object(
    {
      id: { type: "string" },
      email: nullable("string", "Trimmed and lowercased; null for an anonymous user."),
      emailVerified: { type: "boolean" },
      anonymous: { type: "boolean" },
      createdAt: { type: "string", format: "date-time" },
      data: { type: "object", description: "The user's own JSON object (at most 16 KiB)." },
    },
    ["id", "email", "emailVerified", "anonymous", "createdAt", "data"],
  ),
  Session: object(
    {
      accessToken: { type: "string", description: "An ES256 JWT signed by this server." },
      refreshToken: { type: "string", description: "Opaque and single-use; trade it at /api/auth/refresh." },
      expiresAt: ms("The access token's exp, ms since the epoch."),
      tokenType: { type: "string", const: "Bearer" },
    },
    ["accessToken", "refreshToken", "expiresAt", "tokenType"],
  ),
  UserAndSession: object({ user: schemaRef("User"), session: schemaRef("Session") }, ["user", "session"]),
  UserOnly: object({ user: schemaRef("User") }, ["user"]),
  Sent: object({ sent: { type: "boolean", const: true } }, ["sent"]),
  Credentials: object({ email: { type: "string", maxLength: 254 }, password: { type: "string", minLength: 8, maxLength: 256 } }, [
    "email",
    "password",
  ]),
  RateLimitPolicy: object(
    {
      limit: { type: "integer", minimum: 1, maximum: 1_000_000_000 },
      periodMs: { type: "integer", minimum: 1 },
      burst: { type: "integer", minimum: 0 },
      algorithm: { type: "string", enum: [...RATE_LIMIT_ALGORITHMS] },
      aligned: { type: "boolean", description: "fixed_window only: windows start at multiples of periodMs since the epoch." },
    },
    ["limit", "periodMs"],
  ),
  RateLimitRequest: object(
    {
      policy: { type: "string", description: "A policy of the config." },
      limit: { type: "integer" },
      periodMs: { type: "integer" },
      burst: { type: "integer" },
      algorithm: { type: "string", enum: [...RATE_LIMIT_ALGORITHMS] },
      aligned: { type: "boolean" },
      policies: {
        type: "array",
        maxItems: 10,
        items: { anyOf: [{ type: "string" }, schemaRef("RateLimitPolicy")] },
        description: "All must allow; a denial debits none.",
      },
      cost: { type: "integer", minimum: 0, default: 1, description: "Units this request uses; 0 peeks." },
      mode: { type: "string", enum: ["enforce", "dry_run", "shadow"], default: "enforce" },
      requestId: { type: "string", minLength: 1, maxLength: 128, description: "A retry with the same id is debited once." },
    },
    [],
    { additionalProperties: false, description: "Name the policy one way: `policy`, inline limits (service key only) or `policies`." },
  ),
  RateLimitDecision: object(
    {
      allowed: { type: "boolean" },
      limit: { type: "integer" },
      remaining: { type: "integer" },
      retryAfterMs: ms("0 when allowed; else the wait until this request would be admitted."),
      resetAfterMs: ms("Time until the deciding policy is fully replenished."),
      policies: { type: "array", items: { type: "object" }, description: "Each policy's own decision, when several were named." },
      wouldAllow: { type: "boolean", description: "Shadow mode only." },
      replayed: { type: "boolean", description: "Only on a requestId replay." },
    },
    ["allowed", "limit", "remaining", "retryAfterMs", "resetAfterMs"],
  ),
  Account: object(
    {
      id: { type: "string" },
      email: nullable("string", "Null for an anonymous user."),
      emailVerified: { type: "boolean" },
      anonymous: { type: "boolean" },
      createdAt: { type: "string", format: "date-time" },
      data: { type: "object" },
      disabled: { type: "boolean", description: "Set by an operator (PATCH /api/admin/accounts/{id})." },
      sessions: { type: "integer", minimum: 0, description: "Live sessions: not ended, refreshed within refreshTokenTtlSeconds." },
    },
    ["id", "email", "emailVerified", "anonymous", "createdAt", "disabled", "sessions"],
  ),
  BlockInfo: object(
    {
      name: { type: "string", examples: ["user:alice", "public"] },
      namespace: { type: "string" },
      id: nullable("string", "The dynamic part of the name; null for a static block."),
      createdAt: ms("When the block's actor was created, ms since the epoch."),
      lastWriteAt: { type: ["integer", "null"], description: "The last committed write, ms since the epoch; null before any." },
      seq: { type: "integer", minimum: 0, description: "The block's change sequence number." },
      tables: { type: "object", additionalProperties: object({ rows: { type: "integer", minimum: 0 } }, ["rows"]) },
      bytes: { type: "integer", minimum: 0, description: "Storage used by the block's database." },
    },
    ["name", "namespace", "id", "createdAt", "lastWriteAt", "seq", "tables", "bytes"],
  ),
  Deleted: object({ id: { type: "string" }, deleted: { type: "boolean", const: true } }, ["id", "deleted"]),
};

/** Response headers, each referenced by name. */
export const HEADERS: Record<string, Header> = {
  "X-Seq": { description: "The block's change sequence number this answer observed or created.", schema: { type: "integer" } },
  ETag: { description: 'Weak tag of the block\'s seq (`W/"12"`); send it back as If-None-Match.', schema: { type: "string" } },
  "Retry-After": { description: "Seconds to wait before retrying.", schema: { type: "integer", minimum: 0 } },
  RateLimit: { description: 'Per policy: `"<name>";r=<remaining>;t=<seconds>` (IETF draft).', schema: { type: "string" } },
  "RateLimit-Policy": { description: 'Per policy: `"<name>";q=<limit>;w=<seconds>` (IETF draft).', schema: { type: "string" } },
  "Idempotent-Replayed": {
    description: "`true` when the answer replays an earlier write with the same Idempotency-Key.",
    schema: { type: "string" },
  },
};

const PROBLEM_CONTENT = { "application/problem+json": { schema: schemaRef("Problem") } };

/** Shared responses: every error status refers to `Problem`; 429 adds its headers. */
export const RESPONSES: Record<string, ResponseObject> = {
  Problem: { description: "Problem details (RFC 9457); switch on `code`.", content: PROBLEM_CONTENT },
  RateLimited: {
    description: "Rate limited: wait `Retry-After` seconds (code `RATE_LIMITED`).",
    headers: {
      "Retry-After": ref("headers", "Retry-After"),
      RateLimit: ref("headers", "RateLimit"),
      "RateLimit-Policy": ref("headers", "RateLimit-Policy"),
    },
    content: PROBLEM_CONTENT,
  },
  NotModified: emptyResponse("Nothing in the block changed since the If-None-Match tag.", {
    ETag: ref("headers", "ETag"),
    "X-Seq": ref("headers", "X-Seq"),
  }),
};

/** How a block name is written in each namespace: `user:<id>` (dynamic) or `public` (static). */
export function blockShapes(config: ResolvedConfig, namespaces: readonly string[]): string {
  return namespaces.map((ns) => `\`${config.namespaces[ns]?.kind === "static" ? ns : `${ns}:<id>`}\``).join(", ");
}

/** The `block` path parameter for routes that take any namespace. */
export function blockParameter(config: ResolvedConfig, namespaces: readonly string[] = Object.keys(config.namespaces)): Parameter {
  return {
    name: "block",
    in: "path",
    required: true,
    description: `The block (one database actor): ${blockShapes(config, namespaces)}.${
      namespaces.some((ns) => config.namespaces[ns]?.kind === "dynamic") ? " An <id> is 1-128 of A-Za-z0-9_.-." : ""
    }`,
    schema: { type: "string", pattern: "^[a-z][a-z0-9_-]*(:[A-Za-z0-9_.-]{1,128})?$" },
  };
}

/** The shared parameters: path parameters by name, then the request headers writes and reads take. */
export function sharedParameters(config: ResolvedConfig): Record<string, Parameter> {
  const providers = Object.keys(config.auth.providers);
  return {
    block: blockParameter(config),
    id: {
      name: "id",
      in: "path",
      required: true,
      description: "The row id.",
      schema: { type: "string", pattern: "^[A-Za-z0-9_.-]{1,128}$" },
    },
    key: {
      name: "key",
      in: "path",
      required: true,
      description: "The rate-limit key, 1-256 characters, percent-encoded (`/` as `%2F`).",
      schema: { type: "string", minLength: 1, maxLength: 256 },
    },
    provider: {
      name: "provider",
      in: "path",
      required: true,
      description: "An OAuth provider named in the config's auth.providers.",
      schema: providers.length > 0 ? { type: "string", enum: providers } : { type: "string" },
    },
    IfMatch: {
      name: "If-Match",
      in: "header",
      description: 'Apply the write only at this row version (`"3"`), else 412 VERSION_MISMATCH.',
      schema: { type: "string" },
    },
    IfNoneMatch: {
      name: "If-None-Match",
      in: "header",
      description: "A previous ETag: 304 while nothing changed.",
      schema: { type: "string" },
    },
    IdempotencyKey: {
      name: "Idempotency-Key",
      in: "header",
      description: "1-255 visible ASCII characters; a retry within 24 h gets the first answer without applying the write again.",
      schema: { type: "string", minLength: 1, maxLength: 255 },
    },
  };
}

/** Bearer JWTs (external IdP or this server's access tokens) and the service key, two ways. */
export const SECURITY_SCHEMES = {
  bearerJwt: {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description:
      "A JWT from an external identity provider (HS256 with JWT_SECRET, or RS256/ES256/EdDSA from JWT_JWKS), or an access token " +
      "this server issued at /api/auth/* (ES256, keys at /.well-known/jwks.json). Rules decide what it may do.",
  },
  serviceKey: { type: "http", scheme: "bearer", description: "The SERVICE_KEY as a bearer token. Bypasses rules." },
  serviceKeyHeader: {
    type: "apiKey",
    in: "header",
    name: "X-Service-Key",
    description: "The SERVICE_KEY in its own header. Bypasses rules.",
  },
} as const;
