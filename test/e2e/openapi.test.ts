import { Validator } from "@seriousme/openapi-schema-validator";
import { beforeAll, describe, expect, it } from "vitest";
import { SERVICE_HEADERS, api, unique } from "./helpers";

interface Operation {
  parameters?: { name?: string; in?: string; required?: boolean; $ref?: string }[];
  responses: Record<string, { headers?: Record<string, unknown> }>;
}
interface Document {
  openapi: string;
  servers: { url: string }[];
  paths: Record<string, Record<string, Operation>>;
  components: Record<string, Record<string, { required?: string[] | boolean; name?: string; in?: string }>>;
}

let raw: Record<string, unknown>;
let doc: Document;

beforeAll(async () => {
  const response = await api("/api/openapi.json");
  expect(response.status).toBe(200);
  raw = (await response.json()) as Record<string, unknown>;
  doc = raw as unknown as Document;
});

/** Every `$ref` in the document, with where it was found. */
function refs(value: unknown, at = "#"): [ref: string, at: string][] {
  if (Array.isArray(value)) return value.flatMap((item, i) => refs(item, `${at}/${i}`));
  if (value === null || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([key, item]) =>
    key === "$ref" && typeof item === "string" ? [[item, at] as [string, string]] : refs(item, `${at}/${key}`),
  );
}

describe("the OpenAPI document over real HTTP", () => {
  it("passes a standard OpenAPI 3.1 validator", async () => {
    const validator = new Validator();
    const result = await validator.validate(raw);
    expect(result.errors ?? [], JSON.stringify(result.errors, null, 2)).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toMatch(/^3\.1/);
    const { info: _info, ...withoutInfo } = raw;
    expect((await new Validator().validate(withoutInfo)).valid, "the validator refuses a document without info").toBe(false);
  });

  it("declares every path template parameter on each operation, required and in: path", () => {
    const parameters = doc.components.parameters ?? {};
    const undeclared: string[] = [];
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        const declared = (op.parameters ?? [])
          .map((p) => (p.$ref ? parameters[p.$ref.replace("#/components/parameters/", "")] : p))
          .filter((p) => p?.in === "path" && p.required === true)
          .map((p) => p?.name);
        for (const [, name] of path.matchAll(/\{(\w+)\}/g)) if (!declared.includes(name)) undeclared.push(`${method} ${path} {${name}}`);
      }
    }
    expect(undeclared).toEqual([]);
  });

  it("points every $ref at a component that exists", () => {
    const broken = refs(doc).filter(([ref]) => {
      const [, kind, name] = /^#\/components\/([^/]+)\/(.+)$/.exec(ref) ?? [];
      return kind === undefined || name === undefined || doc.components[kind]?.[name] === undefined;
    });
    expect(broken).toEqual([]);
  });

  it("names the server it was fetched from", async () => {
    const url = new URL(doc.servers[0]?.url ?? "");
    const response = await fetch(new URL("/api/health", url));
    expect(response.status).toBe(200);
  });

  it("lists GET paths the server answers (no 404, 405 or 5xx)", async () => {
    const plain = Object.entries(doc.paths).filter(([path, item]) => item.get && !path.includes("{"));
    expect(plain.map(([path]) => path)).toEqual(expect.arrayContaining(["/api/health", "/api/openapi.json", "/.well-known/jwks.json"]));
    for (const [path] of plain) {
      const response = await api(path, { headers: SERVICE_HEADERS });
      expect([404, 405], `GET ${path} answered ${response.status}`).not.toContain(response.status);
      expect(response.status, `GET ${path}`).toBeLessThan(500);
    }
  });

  it("describes a table's insert and list the way the server answers them", async () => {
    const insert = doc.paths["/api/db/{block}/tables/posts"]?.post;
    const list = doc.paths["/api/db/{block}/tables/posts"]?.get;
    expect(insert && list).toBeTruthy();
    const title = unique("openapi-");
    const path = "/api/db/{block}/tables/posts".replace("{block}", "public");
    const created = await api(path, {
      method: "POST",
      headers: { ...SERVICE_HEADERS, "Content-Type": "application/json" },
      body: JSON.stringify({ title }),
    });
    expect(created.status).toBe(201);

    expect(list?.parameters?.map((p) => p.name)).toContain("title");
    const response = await api(`${path}?title=eq.${title}&count=exact`, { headers: SERVICE_HEADERS });
    expect(response.status).toBe(200);
    for (const header of Object.keys(list?.responses["200"]?.headers ?? {})) expect(response.headers.get(header), header).not.toBeNull();
    const page = (await response.json()) as { items: Record<string, unknown>[]; nextCursor: string | null; total: number };
    expect(page.total).toBe(1);
    const required = doc.components.schemas?.["public.posts"]?.required;
    if (!Array.isArray(required)) throw new Error("public.posts has no required list");
    expect(required.length).toBeGreaterThan(0);
    expect(Object.keys(page.items[0] ?? {}).sort()).toEqual([...required].sort());
  });
});
