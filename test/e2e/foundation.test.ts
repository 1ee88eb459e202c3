import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { api, token } from "./helpers";

describe("foundation over real HTTP", () => {
  it("serves /api/health with request id and timing headers", async () => {
    const response = await api("/api/health");
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ ok: true, version: expect.any(String) });
    expect(response.headers.get("x-request-id")).toBeTruthy();
    expect(response.headers.get("server-timing")).toMatch(/total;dur=/);
  });

  it("answers unknown routes with 404 problem+json", async () => {
    const response = await api("/api/nope");
    expect(response.status).toBe(404);
    expect(response.headers.get("content-type")).toContain("application/problem+json");
    expect(await response.json()).toMatchObject({ status: 404, code: "NOT_FOUND" });
  });

  it("accepts a valid token on /api/health and refuses a forged one with 401", async () => {
    const good = await api("/api/health", { headers: { Authorization: `Bearer ${await token("alice")}` } });
    expect(good.status).toBe(200);
    const forged = await api("/api/health", { headers: { Authorization: "Bearer a.b.c" } });
    expect(forged.status).toBe(401);
    expect(await forged.json()).toMatchObject({ code: "INVALID_TOKEN" });
  });

  it("keeps /internal unreachable from outside", async () => {
    const response = await api("/internal/anything");
    expect(response.status).toBe(404);
  });
});

describe("npm run token", () => {
  it("prints a three-part JWT and rejects bad claims JSON with exit code 2", () => {
    const ok = spawnSync("node", ["scripts/token.mjs", "--sub", "alice", "--claims", '{"workspaces":["ws1"]}', "--ttl", "60"], {
      encoding: "utf8",
    });
    expect(ok.status).toBe(0);
    expect(ok.stdout.trim().split(".")).toHaveLength(3);
    const bad = spawnSync("node", ["scripts/token.mjs", "--sub", "alice", "--claims", "{nope"], { encoding: "utf8" });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("--claims");
  });
});
