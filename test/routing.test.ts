import { describe, expect, it } from "vitest";
import { as, call, problem } from "./helpers/http";

describe("router", () => {
  it("answers an unknown route with 404 problem+json", async () => {
    const response = await call("/api/does-not-exist");
    expect(response.status).toBe(404);
    expect(response.headers.get("Content-Type")).toBe("application/problem+json");
    const body = await problem(response);
    expect(body).toMatchObject({ status: 404, code: "NOT_FOUND", title: "Not Found", type: expect.stringContaining("not-found") });
    expect(response.headers.get("X-Request-Id")).toBeTruthy();
    expect(response.headers.get("Server-Timing")).toMatch(/total;dur=\d+/);
  });

  it("answers a known path with the wrong method with 405 and Allow", async () => {
    const response = await call("/api/health", { method: "PUT" });
    expect(response.status).toBe(405);
    expect(response.headers.get("Allow")).toContain("GET");
    expect((await problem(response)).code).toBe("METHOD_NOT_ALLOWED");
  });

  it("keeps a sane incoming X-Request-Id and replaces a hostile one", async () => {
    const kept = await call("/api/health", { headers: { "X-Request-Id": "trace-1234abcd" } });
    expect(kept.headers.get("X-Request-Id")).toBe("trace-1234abcd");
    const replaced = await call("/api/health", { headers: { "X-Request-Id": "<script>" } });
    expect(replaced.headers.get("X-Request-Id")).not.toBe("<script>");
  });

  it.each(["/internal/changes", "/internal", "/internal/../internal/x"])("never serves %s from outside", async (path) => {
    const response = await call(path, { headers: { "X-Service-Key": "test-service-key-0123456789" } });
    expect(response.status).toBe(404);
  });
});

describe("block names", () => {
  it.each([
    ["user:alice!", 400, "INVALID_BLOCK"],
    ["user:", 400, "INVALID_BLOCK"],
    ["user", 400, "INVALID_BLOCK"],
    [`user:${"a".repeat(129)}`, 400, "INVALID_BLOCK"],
    ["public:x", 400, "INVALID_BLOCK"],
    ["us%er:alice", 400, "INVALID_BLOCK"],
    ["%E0%A4%A", 400, "INVALID_BLOCK"],
    ["nosuchns:alice", 404, "NAMESPACE_NOT_FOUND"],
  ])("answers %s with %i %s", async (block, status, code) => {
    const response = await call(`/api/db/${block}/tables/notes`, { headers: await as("alice") });
    expect(response.status).toBe(status);
    expect((await problem(response)).code).toBe(code);
  });

  it("answers an undeclared table with 404 TABLE_NOT_FOUND", async () => {
    const response = await call("/api/db/user:alice/tables/secrets", { headers: await as("alice") });
    expect(response.status).toBe(404);
    expect((await problem(response)).code).toBe("TABLE_NOT_FOUND");
  });

  it("does not treat inherited object keys as tables or namespaces", async () => {
    expect((await call("/api/db/user:alice/tables/constructor", { headers: await as("alice") })).status).toBe(404);
    expect((await call("/api/db/__proto__/tables/notes", { headers: await as("alice") })).status).toBe(404);
  });
});

describe("block-level rules in the Worker", () => {
  it("answers an anonymous caller on a private namespace with 401", async () => {
    const response = await call("/api/db/user:alice/tables/notes");
    expect(response.status).toBe(401);
    expect((await problem(response)).code).toBe("AUTH_REQUIRED");
  });

  it("answers another user's block with 403", async () => {
    const response = await call("/api/db/user:alice/tables/notes", { headers: await as("bob") });
    expect(response.status).toBe(403);
    expect((await problem(response)).code).toBe("FORBIDDEN");
  });

  it("answers a workspace non-member with 403 and a member's delete without admin role with 403", async () => {
    expect((await call("/api/db/workspace:ws1/tables/tasks", { headers: await as("carol", { workspaces: ["ws2"] }) })).status).toBe(403);
    const del = await call("/api/db/workspace:ws1/tables/tasks/t1", {
      method: "DELETE",
      headers: await as("carol", { workspaces: ["ws1"] }),
    });
    expect(del.status).toBe(403);
  });

  it("answers a signed-in write to the public namespace with 403 and an anonymous one with 401", async () => {
    const init = { method: "POST", body: JSON.stringify({ title: "x" }), headers: { "Content-Type": "application/json" } };
    expect((await call("/api/db/public/tables/posts", init)).status).toBe(401);
    expect((await call("/api/db/public/tables/posts", { ...init, headers: { ...init.headers, ...(await as("alice")) } })).status).toBe(403);
  });
});

describe("CORS", () => {
  it("answers a preflight from an allowed origin with 204 and the allow headers", async () => {
    const response = await call("/api/db/user:alice/tables/notes", {
      method: "OPTIONS",
      headers: {
        Origin: "https://app.example.com",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
      },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get("Access-Control-Allow-Origin")).toBe("https://app.example.com");
    expect(response.headers.get("Access-Control-Allow-Methods")).toContain("PATCH");
    expect(response.headers.get("Access-Control-Allow-Headers")?.toLowerCase()).toContain("authorization");
    expect(response.headers.get("Vary")).toContain("Origin");
  });

  it("gives a preflight from another origin no allow headers", async () => {
    const response = await call("/api/health", {
      method: "OPTIONS",
      headers: { Origin: "https://evil.example.com", "Access-Control-Request-Method": "GET" },
    });
    expect(response.headers.get("Access-Control-Allow-Origin")).toBeNull();
  });

  it("exposes the platform headers on actual responses to allowed origins, errors included", async () => {
    const ok = await call("/api/health", { headers: { Origin: "https://admin.example.com" } });
    expect(ok.headers.get("Access-Control-Allow-Origin")).toBe("https://admin.example.com");
    expect(ok.headers.get("Access-Control-Expose-Headers")).toContain("X-Request-Id");
    const denied = await call("/api/db/user:alice/tables/notes", { headers: { Origin: "https://app.example.com" } });
    expect(denied.status).toBe(401);
    expect(denied.headers.get("Access-Control-Allow-Origin")).toBe("https://app.example.com");
  });
});
