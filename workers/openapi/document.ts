/**
 * Builds the OpenAPI 3.1 document from the route table and the config: each registered route under
 * `/api/` or `/.well-known/` is looked up by `METHOD /path/:param` in the operation tables, routes
 * with `:table` become one path per declared table, and the shared parts (errors, security, rate
 * limiting) are added by rule here, once. A route with no description is left out (the test fails).
 */
import type { ResolvedConfig } from "../../shared/config";
import { HEADERS, RESPONSES, SECURITY_SCHEMES, SHARED_SCHEMAS, blockParameter, sharedParameters } from "./components";
import { ref } from "./media";
import { AUTH_OPERATIONS } from "./operations-auth";
import { TABLE_OPERATIONS } from "./operations-db";
import { platformOperations } from "./operations-platform";
import { REST_TABLE_OPERATIONS } from "./operations-rest";
import { type TableView, tableSchemas, tableViews } from "./table-schemas";
import type { Access, Operation, OperationSpec, Parameter, Ref } from "./types";

/** A route as the document needs it: the method (upper case, `ALL` for any) and itty's path pattern. */
export interface RouteLike {
  method: string;
  path: string;
}

/** Reads itty-router v5's route entries, `[METHOD, RegExp, handlers, path]`, into method and path. */
export function routesOf(entries: readonly (readonly [string, RegExp, unknown, string?])[]): RouteLike[] {
  return entries.map(([method, , , path]) => ({ method, path: path ?? "" }));
}

/** The public API lives under these; the console, its assets and the catch-all are left out by rule. */
export function isDocumented(route: RouteLike): boolean {
  return route.method !== "ALL" && (route.path.startsWith("/api/") || route.path.startsWith("/.well-known/"));
}

/** The key of a route in the operation tables: `GET /api/db/:block/tables/:table`. */
export function operationKey(route: RouteLike): string {
  return `${route.method} ${route.path}`;
}

/** `/api/db/:block/batch` as OpenAPI writes it: `/api/db/{block}/batch`. */
export function openApiPath(path: string): string {
  return path.replace(/:(\w+)/g, "{$1}");
}

function staticOperations(config: ResolvedConfig): Record<string, OperationSpec> {
  return { ...platformOperations(config), ...AUTH_OPERATIONS };
}

const SERVICE = [{ serviceKey: [] }, { serviceKeyHeader: [] }];
const SECURITY: Record<Access, Record<string, string[]>[]> = {
  public: [],
  caller: [{}, { bearerJwt: [] }, ...SERVICE],
  signedIn: [{ bearerJwt: [] }, ...SERVICE],
  session: [{ bearerJwt: [] }],
  service: SERVICE,
};

const TAGS = [
  { name: "database", description: "Rows of the config's tables, per block (docs/database.md)." },
  { name: "realtime", description: "One WebSocket per block (docs/realtime.md)." },
  { name: "rate limiting", description: "Per-key global limiter (docs/rate-limiting.md)." },
  { name: "auth", description: "Built-in accounts and sessions (docs/auth.md)." },
  { name: "admin", description: "Operator routes; service key only (docs/operations.md)." },
  { name: "meta", description: "Health and this document." },
];

interface BuildInput {
  routes: readonly RouteLike[];
  config: ResolvedConfig;
  version: string;
  /** The origin clients reach the API at, for `servers`. */
  serverUrl: string;
}

/** The whole document. Pure: it depends only on its input, so callers may build it once and cache it. */
export function buildDocument({ routes, config, version, serverUrl }: BuildInput): Record<string, unknown> {
  const specs = staticOperations(config);
  const tables = tableViews(config);
  const shared = sharedParameters(config);
  const paths: Record<string, Record<string, Operation>> = {};
  const add = (path: string, method: string, operation: Operation): void => {
    paths[path] ??= {};
    paths[path][method.toLowerCase()] = operation;
  };

  for (const route of routes) {
    if (!isDocumented(route)) continue;
    const key = operationKey(route);
    const perTable = TABLE_OPERATIONS[key] ?? REST_TABLE_OPERATIONS[key];
    if (perTable) {
      for (const table of tables) {
        const path = route.path.replace(/:table(?=\/|$)/, table.name);
        add(openApiPath(path), route.method, finish(perTable(table, config), path, shared, config, table));
      }
      continue;
    }
    const spec = specs[key];
    if (spec) add(openApiPath(route.path), route.method, finish(spec, route.path, shared, config));
  }

  return {
    openapi: "3.1.0",
    info: {
      title: "Actorbase",
      version,
      description:
        "Generated from the Worker's route table and actorbase.config.ts. JSON in and out; errors are RFC 9457 problem details " +
        "(application/problem+json) with a stable `code`. Every response carries X-Request-Id and Server-Timing.",
    },
    servers: [{ url: serverUrl }],
    tags: TAGS,
    paths,
    components: {
      schemas: { ...SHARED_SCHEMAS, ...tableSchemas(config) },
      responses: RESPONSES,
      parameters: shared,
      headers: HEADERS,
      securitySchemes: SECURITY_SCHEMES,
    },
  };
}

/**
 * An operation table entry as the document writes it: path parameters declared (the block's
 * namespaces narrowed to a table's), security from `access`, problem responses by reference, 401
 * everywhere (bad credentials are refused on every route) and 429 under the platform limiter (`/api/*`).
 */
function finish(
  spec: OperationSpec,
  path: string,
  shared: Record<string, Parameter>,
  config: ResolvedConfig,
  table?: TableView,
): Operation {
  const own = spec.parameters ?? [];
  const declared = new Set(own.flatMap((p) => ("in" in p && p.in === "path" ? [p.name] : [])));
  const pathParameters: (Parameter | Ref)[] = [];
  for (const [, name] of path.matchAll(/:(\w+)/g)) {
    if (name === undefined || declared.has(name)) continue;
    if (name === "block" && table) pathParameters.push(blockParameter(config, table.namespaces));
    else if (shared[name]?.in === "path") pathParameters.push(ref("parameters", name));
    else pathParameters.push({ name, in: "path", required: true, schema: { type: "string" } });
  }
  const parameters = [...pathParameters, ...own];

  const responses: Operation["responses"] = { ...spec.responses };
  for (const status of [...(spec.errors ?? []), 401]) responses[String(status)] = ref("responses", "Problem");
  if (path.startsWith("/api/")) responses["429"] = ref("responses", "RateLimited");
  const sorted = Object.fromEntries(Object.entries(responses).sort(([a], [b]) => a.localeCompare(b)));

  return {
    operationId: spec.operationId,
    summary: spec.summary,
    ...(spec.description === undefined ? {} : { description: spec.description }),
    tags: [...spec.tags],
    security: SECURITY[spec.access],
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(spec.requestBody ? { requestBody: spec.requestBody } : {}),
    responses: sorted,
  };
}
