import { describe, expect, it } from "vitest";
import config from "../actorbase.config";
import { isDocumented, openApiPath, routesOf } from "../workers/openapi/document";
import { router } from "../workers/router";
import { call } from "./helpers/http";

interface Operation {
  operationId: string;
  security: Record<string, string[]>[];
  parameters?: { name?: string; in?: string; description?: string; $ref?: string }[];
  responses: Record<
    string,
    { $ref?: string; headers?: Record<string, unknown>; content?: Record<string, { schema: Record<string, unknown> }> }
  >;
}
interface Document {
  openapi: string;
  servers: { url: string }[];
  paths: Record<string, Record<string, Operation>>;
  components: {
    schemas: Record<string, { properties: Record<string, Record<string, unknown>>; required?: string[] }>;
    responses: Record<string, { headers?: Record<string, unknown>; content: Record<string, { schema: { $ref: string } }> }>;
  };
}

async function openApi(): Promise<Document> {
  const response = await call("/api/openapi.json");
  expect(response.status).toBe(200);
  return (await response.json()) as Document;
}

function operations(doc: Document): [path: string, method: string, operation: Operation][] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, op]) => [path, method, op] as [string, string, Operation]),
  );
}

const documentedRoutes = routesOf(router.routes).filter(isDocumented);
const tableNames = [...new Set(Object.values(config.namespaces).flatMap((ns) => Object.keys(ns.tables)))];

describe("GET /api/openapi.json", () => {
  it("serves an OpenAPI 3.1 document as public, cacheable JSON with the request's origin as its server", async () => {
    const response = await call("/api/openapi.json");
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toMatch(/^application\/json/);
    expect(response.headers.get("Cache-Control")).toBe("public, max-age=60");
    const doc = (await response.json()) as Document;
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect(doc.servers).toEqual([{ url: "https://actorbase.test" }]);
    const other = (await (await call("/api/openapi.json", { headers: { "X-Request-Id": "openapi-again" } })).json()) as Document;
    expect(other.paths).toEqual(doc.paths);
  });

  it("has an operation for every route under /api/ and /.well-known/, one path per table for table routes", async () => {
    const doc = await openApi();
    const missing: string[] = [];
    for (const route of documentedRoutes) {
      const paths = route.path.includes(":table") ? tableNames.map((t) => route.path.replace(":table", t)) : [route.path];
      for (const path of paths) {
        if (!doc.paths[openApiPath(path)]?.[route.method.toLowerCase()]) missing.push(`${route.method} ${path}`);
      }
    }
    expect(missing).toEqual([]);
    expect(documentedRoutes.map((r) => r.path)).toContain("/api/openapi.json");
  });

  it("documents only operations a registered route serves, and nothing outside /api/ and /.well-known/", async () => {
    const doc = await openApi();
    const unmatched: string[] = [];
    for (const [path, method] of operations(doc)) {
      expect(path).toMatch(/^\/(api|\.well-known)\//);
      const concrete = path.replace(/\{(\w+)\}/g, (_, name: string) => (name === "block" ? "user:alice" : "x1"));
      const served = router.routes.some(([m, pattern, , p]) => m === method.toUpperCase() && p !== "*" && pattern.test(concrete));
      if (!served) unmatched.push(`${method.toUpperCase()} ${path}`);
    }
    expect(unmatched).toEqual([]);
    expect(Object.keys(doc.paths)).not.toContain("/console");
    expect(Object.keys(doc.paths)).not.toContain("/");
  });

  it("gives every operation a unique operationId", async () => {
    const ids = operations(await openApi()).map(([, , op]) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("generates each table's row, insert and patch schemas from the config", async () => {
    const { schemas } = (await openApi()).components;
    const notes = schemas["user.notes"];
    expect(notes?.properties).toMatchObject({
      id: { type: "string" },
      createdAt: { type: "integer" },
      updatedAt: { type: "integer" },
      version: { type: "integer" },
      title: { type: "string", maxLength: 200 },
      body: { type: ["string", "null"] },
      done: { type: ["boolean", "null"], default: false },
      priority: { type: ["integer", "null"], default: 0 },
      tags: { type: ["array", "null"] },
    });
    expect(notes?.required).toEqual(expect.arrayContaining(["id", "createdAt", "updatedAt", "version", "title", "body"]));
    expect(schemas["user.notes.insert"]?.required).toEqual(["title"]);
    expect(schemas["user.notes.patch"]?.required).toBeUndefined();
    expect(schemas["user.notes.patch"]?.properties.priority).toMatchObject({
      anyOf: [{ type: ["integer", "null"] }, { required: ["$inc"] }],
    });
    const status = schemas["workspace.tasks"]?.properties.status;
    expect(status).toMatchObject({ type: ["string", "null"], default: "todo" });
    expect(status?.enum).toEqual(["todo", "doing", "done", null]);
    expect(schemas["public.posts"]?.properties.title).toEqual({ type: "string" });
    for (const name of Object.keys(schemas)) expect(name).toMatch(/^[a-zA-Z0-9._-]+$/);
  });

  it("puts the query grammar and one filter per column on list routes, and the right namespaces on the block", async () => {
    const doc = await openApi();
    const list = doc.paths["/api/db/{block}/tables/notes"]?.get;
    const names = (list?.parameters ?? []).map((p) => p.name ?? p.$ref);
    expect(names).toEqual(expect.arrayContaining(["block", "select", "order", "limit", "cursor", "count", "search", "or", "and"]));
    expect(names).toEqual(expect.arrayContaining(["id", "createdAt", "updatedAt", "version", "title", "body", "done", "priority", "tags"]));
    const title = list?.parameters?.find((p) => p.name === "title");
    expect(title).toMatchObject({ in: "query", schema: { type: "string" } });
    expect(title?.description).toContain("ilike");
    expect(list?.parameters?.find((p) => p.name === "tags")?.description).toContain("`cs`");
    expect(list?.parameters?.find((p) => p.name === "block")?.description).toContain("`user:<id>`");
    expect(list?.parameters?.find((p) => p.name === "block")?.description).not.toContain("public");
    const tasks = doc.paths["/api/db/{block}/tables/tasks"]?.get;
    expect(tasks?.parameters?.map((p) => p.name)).toContain("status");
    expect(tasks?.parameters?.map((p) => p.name)).not.toContain("search");
    const posts = doc.paths["/api/db/{block}/tables/posts"]?.get;
    expect(posts?.parameters?.find((p) => p.name === "block")?.description).toContain("`public`");

    const ok = list?.responses["200"];
    expect(ok?.headers).toHaveProperty("X-Seq");
    expect(ok?.content?.["application/json"]?.schema).toMatchObject({
      properties: { items: { items: { $ref: "#/components/schemas/user.notes" } }, nextCursor: { type: ["string", "null"] } },
    });
  });

  it("refers every error to the shared problem+json response, with 429 and Retry-After under /api/", async () => {
    const doc = await openApi();
    expect(doc.components.responses.Problem?.content["application/problem+json"]?.schema.$ref).toBe("#/components/schemas/Problem");
    expect(doc.components.schemas.Problem?.required).toEqual(["type", "title", "status", "detail", "code"]);
    expect(doc.components.schemas.Problem?.properties).toHaveProperty("errors");
    expect(doc.components.responses.RateLimited?.headers).toHaveProperty("Retry-After");
    for (const [path, method, op] of operations(doc)) {
      const errors = Object.entries(op.responses).filter(([status]) => Number(status) >= 400);
      expect(errors.length, `${method} ${path}`).toBeGreaterThan(0);
      for (const [status, response] of errors) {
        expect(response.$ref, `${method} ${path} ${status}`).toBe(
          status === "429" ? "#/components/responses/RateLimited" : "#/components/responses/Problem",
        );
      }
      if (path.startsWith("/api/")) expect(op.responses["429"], `${method} ${path}`).toBeDefined();
    }
    expect(doc.paths["/api/db/{block}/tables/notes"]?.post?.responses["422"]?.$ref).toBe("#/components/responses/Problem");
  });

  it("says service key only on admin routes, and no credentials on public ones", async () => {
    const doc = await openApi();
    const admin = operations(doc).filter(([path]) => path.startsWith("/api/admin/"));
    expect(admin.length).toBeGreaterThan(0);
    for (const [, , op] of admin) expect(op.security).toEqual([{ serviceKey: [] }, { serviceKeyHeader: [] }]);
    expect(doc.paths["/api/openapi.json"]?.get?.security).toEqual([]);
    expect(doc.paths["/api/db/{block}/tables/notes"]?.get?.security).toContainEqual({ bearerJwt: [] });
  });
});
