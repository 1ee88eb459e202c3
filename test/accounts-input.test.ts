import { describe, expect, it } from "vitest";
import { freshIp, signUp } from "./helpers/accounts";
import { fetchWorker } from "./helpers/worker-fetch";

/** Bodies no accounts route should choke on: wrong types, wrong shapes, huge and odd strings. */
const BODIES: (string | undefined)[] = [
  undefined,
  "",
  "null",
  "[]",
  "42",
  '"a string"',
  "{",
  "{}",
  JSON.stringify({ email: 42, password: {} }),
  JSON.stringify({ email: "a@b.co", password: null }),
  JSON.stringify({ email: "x".repeat(60_000), password: "y".repeat(3_000) }),
  JSON.stringify({ email: "a@b.co", password: "long enough", data: [1] }),
  JSON.stringify({ email: "a@b.co", password: "long enough", data: "x" }),
  JSON.stringify({ refreshToken: ["a"], token: 7, code: {}, codeVerifier: 1, scope: "everything" }),
  JSON.stringify({ refreshToken: "u00000000000000000000.aaaaaaaaaaaaaaaa.%%%", token: "..", code: "../../x" }),
  JSON.stringify({ __proto__: { admin: true }, email: "a@b.co" }),
];

const ROUTES = [
  ["POST", "signup"],
  ["POST", "signin"],
  ["POST", "refresh"],
  ["POST", "signout"],
  ["PATCH", "user"],
  ["POST", "anonymous"],
  ["POST", "link"],
  ["POST", "verify"],
  ["POST", "recover"],
  ["POST", "reset"],
  ["POST", "oauth/exchange"],
] as const;

describe("bad input on the accounts routes", () => {
  it("answers every malformed body with a 4xx problem, never a 5xx", async () => {
    const session = await signUp();
    for (const [method, path] of ROUTES) {
      for (const body of BODIES) {
        for (const contentType of ["application/json", "text/plain"]) {
          const headers: Record<string, string> = {
            "Content-Type": contentType,
            "CF-Connecting-IP": freshIp(),
            Authorization: `Bearer ${session.session.accessToken}`,
          };
          const response = await fetchWorker(`/api/auth/${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
          const where = `${method} ${path} ${contentType} ${String(body).slice(0, 60)}`;
          expect(response.status, where).toBeLessThan(500);
          if (response.status >= 400) expect(response.headers.get("Content-Type"), where).toContain("application/problem+json");
          await response.body?.cancel();
        }
      }
    }
  });

  it("answers odd OAuth query strings with a 4xx, never a 5xx", async () => {
    for (const query of [
      "oidc",
      "oidc?redirectTo=",
      "oidc?redirectTo=%ZZ",
      "oidc?redirectTo=https://actorbase.test/&codeChallenge=x",
      "oidc?redirectTo=https://actorbase.test/&redirectTo=https://evil.example/",
      "NOPE?redirectTo=https://actorbase.test/",
      "oidc/callback",
      "oidc/callback?state=",
      `oidc/callback?state=${"s".repeat(5_000)}&code=x`,
      "oidc/callback?error=access_denied",
    ]) {
      const response = await fetchWorker(`/api/auth/oauth/${query}`, { redirect: "manual" });
      expect(response.status, query).toBeGreaterThanOrEqual(400);
      expect(response.status, query).toBeLessThan(500);
    }
  });
});
