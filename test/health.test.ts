import { describe, expect, it } from "vitest";
import { call } from "./helpers/http";

describe("GET /api/health", () => {
  it("answers 200 with ok and the version, plus request id and timing headers", async () => {
    const response = await call("/api/health");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true, version: expect.any(String) });
    expect(response.headers.get("X-Request-Id")).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.headers.get("Server-Timing")).toMatch(/(^|, )total;dur=\d+/); // other metrics (ratelimit) may come first
  });
});
