import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { CONSOLE_CSP } from "../workers/routes/console";

const BASE = "http://actorbase.test";

function get(path: string): Promise<Response> {
  return exports.default.fetch(new Request(`${BASE}${path}`, { redirect: "manual" }));
}

describe("console assets", () => {
  it("redirects / to /console", async () => {
    const response = await get("/");
    expect(response.status).toBe(302);
    expect(response.headers.get("Location")).toBe(`${BASE}/console`);
  });

  it("serves the page at /console and /console/ as HTML under a content security policy", async () => {
    for (const path of ["/console", "/console/"]) {
      const response = await get(path);
      expect(response.status).toBe(200);
      expect(response.headers.get("Content-Type")).toBe("text/html; charset=utf-8");
      expect(response.headers.get("Content-Security-Policy")).toBe(CONSOLE_CSP);
      expect(response.headers.get("X-Content-Type-Options")).toBe("nosniff");
      const html = await response.text();
      expect(html).toContain('<script type="module" src="/console/app.js"></script>');
    }
  });

  it("serves the script and the stylesheet with their types and the same policy", async () => {
    const script = await get("/console/app.js");
    expect(script.status).toBe(200);
    expect(script.headers.get("Content-Type")).toBe("text/javascript; charset=utf-8");
    expect(script.headers.get("Content-Security-Policy")).toBe(CONSOLE_CSP);
    expect((await script.text()).length).toBeGreaterThan(1000);
    const style = await get("/console/app.css");
    expect(style.status).toBe(200);
    expect(style.headers.get("Content-Type")).toBe("text/css; charset=utf-8");
  });

  it("answers 404 problem+json for a file the console does not have, or a path that leaves its folder", async () => {
    for (const path of [
      "/console/missing.js",
      "/console/../wrangler.toml",
      "/console/%2e%2e/wrangler.toml",
      "/console/a/b.js",
      "/console/app.exe",
    ]) {
      const response = await get(path);
      expect(response.status, path).toBe(404);
      expect(response.headers.get("Content-Type")).toContain("application/problem+json");
    }
  });

  it("tags each file with an ETag from its content and answers 304 to a request that already has it", async () => {
    const first = await get("/console/app.js");
    const etag = first.headers.get("ETag");
    expect(etag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(first.headers.get("Cache-Control")).toBe("no-cache");
    const again = await exports.default.fetch(new Request(`${BASE}/console/app.js`, { headers: { "If-None-Match": etag as string } }));
    expect(again.status).toBe(304);
    expect(again.headers.get("ETag")).toBe(etag);
    expect(await again.text()).toBe("");
    const page = await get("/console");
    expect(page.headers.get("ETag")).not.toBe(etag);
  });

  it("never allows inline scripts or styles, or framing, in its policy", () => {
    expect(CONSOLE_CSP).toContain("script-src 'self'");
    expect(CONSOLE_CSP).not.toContain("unsafe-inline");
    expect(CONSOLE_CSP).toContain("frame-ancestors 'none'");
  });
});
