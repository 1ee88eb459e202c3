/**
 * Everything that is neither a table nor the accounts service: health, this document, the batch,
 * the realtime upgrade, the rate limiter and the operator (admin) routes, keyed by `METHOD /path`.
 */
import type { ResolvedConfig } from "../../shared/config";
import { emptyResponse, jsonBody, jsonResponse, object, ref, schemaRef } from "./media";
import { batchOperation } from "./operations-db";
import type { OperationSpec, Parameter, ResponseObject } from "./types";

const NDJSON = "application/x-ndjson";
const RATE_LIMIT_HEADERS = { RateLimit: ref("headers", "RateLimit"), "RateLimit-Policy": ref("headers", "RateLimit-Policy") };
const decision = (description: string): ResponseObject =>
  jsonResponse(description, schemaRef("RateLimitDecision"), { ...RATE_LIMIT_HEADERS, "Retry-After": ref("headers", "Retry-After") });
const policyQuery: Parameter[] = [
  { name: "policy", in: "query", description: "A config policy (repeatable).", schema: { type: "string" } },
  { name: "limit", in: "query", description: "Inline limit (service key only).", schema: { type: "integer" } },
  { name: "periodMs", in: "query", schema: { type: "integer" } },
  { name: "burst", in: "query", schema: { type: "integer" } },
  { name: "algorithm", in: "query", schema: { type: "string" } },
  { name: "aligned", in: "query", schema: { type: "boolean" } },
];
const accountId: Parameter = { name: "id", in: "path", required: true, description: "The account (user) id.", schema: { type: "string" } };
const cursorPage = (name: string): Parameter[] => [
  { name: "cursor", in: "query", description: `The previous page's nextCursor.`, schema: { type: "string" } },
  { name: "limit", in: "query", description: `${name} per page.`, schema: { type: "integer", minimum: 1 } },
];

/** The operations of this file; the batch needs the config's limits. */
export function platformOperations(config: ResolvedConfig): Record<string, OperationSpec> {
  const namespaces = Object.keys(config.namespaces);
  return {
    "GET /api/health": {
      operationId: "health",
      summary: "Liveness of the Worker",
      description: "Touches no actor.",
      tags: ["meta"],
      access: "public",
      responses: {
        "200": jsonResponse("Alive.", object({ ok: { type: "boolean", const: true }, version: { type: "string" } }, ["ok", "version"])),
      },
    },
    "GET /api/openapi.json": {
      operationId: "openApi",
      summary: "This document",
      description: "Generated from the route table and the config; `servers` is the origin it was fetched from.",
      tags: ["meta"],
      access: "public",
      responses: {
        "200": jsonResponse(
          "An OpenAPI 3.1 document.",
          { type: "object" },
          { "Cache-Control": { schema: { type: "string", const: "public, max-age=60" } } },
        ),
      },
    },
    "POST /api/db/:block/batch": batchOperation(config),
    "GET /api/realtime/:block": {
      operationId: "connectRealtime",
      summary: "Open the block's WebSocket",
      description:
        "Upgrade to WebSocket with `Sec-WebSocket-Protocol: actorbase.v1, bearer.<jwt>` (or send `{type: auth}` within 10 s). " +
        "Carries subscriptions with resume, broadcast and presence (docs/realtime.md). Credential and rule failures close the socket with 4401/4403.",
      tags: ["realtime"],
      access: "caller",
      parameters: [
        { name: "Upgrade", in: "header", required: true, schema: { type: "string", const: "websocket" } },
        {
          name: "Sec-WebSocket-Protocol",
          in: "header",
          description: "`actorbase.v1`, optionally `bearer.<jwt>`.",
          schema: { type: "string" },
        },
      ],
      responses: { "101": emptyResponse("Switching Protocols: the socket speaks actorbase.v1.") },
      errors: [400, 403, 404, 426],
    },
    "POST /api/ratelimit/:key": {
      operationId: "rateLimitDecide",
      summary: "Decide (and debit) a rate-limit key",
      description:
        "Always 200 when the request is valid, allowed or not. A signed-in caller may use `public` policies on keys `<sub>:<anything>`; " +
        "inline limits need the service key.",
      tags: ["rate limiting"],
      access: "signedIn",
      requestBody: jsonBody(schemaRef("RateLimitRequest"), undefined, { policy: "actions" }),
      responses: { "200": decision("The decision, with RateLimit headers and Retry-After when denied.") },
      errors: [400, 403, 413, 415, 422],
    },
    "GET /api/ratelimit/:key": {
      operationId: "rateLimitPeek",
      summary: "Peek at a rate-limit key without debiting",
      tags: ["rate limiting"],
      access: "signedIn",
      parameters: policyQuery,
      responses: { "200": decision("What one unit would get right now.") },
      errors: [400, 403, 422],
    },
    "DELETE /api/ratelimit/:key": {
      operationId: "rateLimitReset",
      summary: "Forget a rate-limit key's state",
      tags: ["rate limiting"],
      access: "service",
      parameters: [{ name: "policy", in: "query", description: "Only these policies (repeatable).", schema: { type: "string" } }],
      responses: { "204": emptyResponse("Reset.") },
      errors: [400, 403],
    },
    "GET /api/admin/blocks/:block/export": {
      operationId: "exportBlock",
      summary: "Export a block as NDJSON",
      description: "A header line (schema and seq), one `{table, row}` line per row, then `{end: true, rows}`; streamed.",
      tags: ["admin"],
      access: "service",
      responses: { "200": { description: "The export stream.", content: { [NDJSON]: { schema: { type: "string" } } } } },
      errors: [400, 403, 404],
    },
    "POST /api/admin/blocks/:block/import": {
      operationId: "importBlock",
      summary: "Import an NDJSON export into an empty block",
      description: "All or none; 409 BLOCK_NOT_EMPTY unless the block was never written. The block continues from the export's seq.",
      tags: ["admin"],
      access: "service",
      requestBody: { required: true, content: { [NDJSON]: { schema: { type: "string" } } } },
      responses: {
        "200": jsonResponse(
          "What was loaded.",
          object(
            { rows: { type: "integer" }, tables: { type: "object", additionalProperties: { type: "integer" } }, seq: { type: "integer" } },
            ["rows", "tables", "seq"],
          ),
          { "X-Seq": ref("headers", "X-Seq") },
        ),
      },
      errors: [400, 403, 404, 409, 413, 415],
    },
    "GET /api/admin/blocks": {
      operationId: "listBlocks",
      summary: "The blocks that exist",
      description: "From the catalog actor; statistics are coalesced, so they may trail the latest writes slightly.",
      tags: ["admin"],
      access: "service",
      parameters: [
        { name: "namespace", in: "query", schema: { type: "string", enum: namespaces } },
        { name: "prefix", in: "query", description: "Only block names starting with this.", schema: { type: "string" } },
        ...cursorPage("Blocks"),
      ],
      responses: {
        "200": jsonResponse(
          "A page of blocks.",
          object({ items: { type: "array", items: schemaRef("BlockInfo") }, nextCursor: { type: ["string", "null"] } }, [
            "items",
            "nextCursor",
          ]),
        ),
      },
      errors: [400, 403],
    },
    "GET /api/admin/schema": {
      operationId: "getSchema",
      summary: "The config as JSON",
      description:
        "Namespaces (kind, rules by name, tables with columns, indexes, search and rules), limits, rate limits and auth settings.",
      tags: ["admin"],
      access: "service",
      responses: {
        "200": jsonResponse(
          "The config.",
          object({ namespaces: { type: "object" }, limits: { type: "object" }, rateLimits: { type: "object" }, auth: { type: "object" } }, [
            "namespaces",
          ]),
        ),
      },
      errors: [403],
    },
    "GET /api/admin/accounts": {
      operationId: "listAccounts",
      summary: "Find an account by email or id",
      description: "Exactly one of `email` or `id`; an exact lookup, not a search. No account: `{items: []}`.",
      tags: ["admin"],
      access: "service",
      parameters: [
        { name: "email", in: "query", schema: { type: "string" } },
        { name: "id", in: "query", schema: { type: "string" } },
      ],
      responses: {
        "200": jsonResponse("The matching accounts.", object({ items: { type: "array", items: schemaRef("Account") } }, ["items"])),
      },
      errors: [400, 403],
    },
    "PATCH /api/admin/accounts/:id": {
      operationId: "updateAccount",
      summary: "Disable or re-enable an account",
      description: "Disabling ends every session and keeps new ones from opening (403 ACCOUNT_DISABLED) until re-enabled.",
      tags: ["admin"],
      access: "service",
      parameters: [accountId],
      requestBody: jsonBody(object({ disabled: { type: "boolean" } }, ["disabled"], { additionalProperties: false })),
      responses: { "200": jsonResponse("The account.", schemaRef("Account")) },
      errors: [400, 403, 404, 415],
    },
    "DELETE /api/admin/accounts/:id/sessions": {
      operationId: "endAccountSessions",
      summary: "End every session of an account",
      tags: ["admin"],
      access: "service",
      parameters: [accountId],
      responses: { "200": jsonResponse("How many sessions ended.", object({ ended: { type: "integer", minimum: 0 } }, ["ended"])) },
      errors: [403, 404],
    },
  };
}
