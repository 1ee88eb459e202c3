import { type JWK, SignJWT, base64url, importJWK } from "jose";
import { describe, expect, it } from "vitest";
import { rememberedCaller, verifyToken } from "../shared/auth";
import { TEST_SECRETS } from "./env";
import { TEST_KEYS } from "./fixtures/keys";
import { call, problem, token } from "./helpers/http";

const now = () => Math.floor(Date.now() / 1000);
const hsKey = new TextEncoder().encode(TEST_SECRETS.JWT_SECRET);

async function signWith(
  kid: keyof typeof TEST_KEYS,
  claims: Record<string, unknown> = {},
  header: Record<string, unknown> = {},
): Promise<string> {
  const entry = TEST_KEYS[kid];
  const key = await importJWK(entry.private as JWK, entry.alg);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: entry.alg, kid, ...header })
    .setSubject("alice")
    .setExpirationTime(now() + 600)
    .sign(key);
}

async function statusWith(authorization: string): Promise<{ status: number; code: string }> {
  const response = await call("/api/health", { headers: { Authorization: authorization } });
  if (response.status === 200) return { status: 200, code: "" };
  expect(response.headers.get("Content-Type")).toBe("application/problem+json");
  const body = await problem(response);
  return { status: response.status, code: body.code };
}

describe("JWT verification", () => {
  it("accepts an HS256 token signed with JWT_SECRET", async () => {
    expect(await statusWith(`Bearer ${await token("alice")}`)).toEqual({ status: 200, code: "" });
  });

  it.each(["rsa-1", "ec-1", "ed-1"] as const)("accepts a %s token from the inline JWK set, chosen by kid", async (kid) => {
    expect(await statusWith(`Bearer ${await signWith(kid)}`)).toEqual({ status: 200, code: "" });
  });

  it("refuses alg none", async () => {
    const header = base64url.encode(JSON.stringify({ alg: "none", typ: "JWT" }));
    const payload = base64url.encode(JSON.stringify({ sub: "alice", exp: now() + 600 }));
    expect(await statusWith(`Bearer ${header}.${payload}.`)).toEqual({ status: 401, code: "INVALID_TOKEN" });
  });

  it("refuses a token signed with the wrong secret", async () => {
    const forged = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("alice")
      .setExpirationTime(now() + 600)
      .sign(new TextEncoder().encode("not-the-secret-0123456789abcdef0123"));
    expect(await statusWith(`Bearer ${forged}`)).toEqual({ status: 401, code: "INVALID_TOKEN" });
  });

  it("refuses HS/RS confusion: HS256 signed with the RSA public key as the HMAC secret", async () => {
    const publicJwk = JSON.stringify(TEST_KEYS["rsa-1"].public);
    const forged = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256", kid: "rsa-1" })
      .setSubject("alice")
      .setExpirationTime(now() + 600)
      .sign(new TextEncoder().encode(publicJwk));
    expect(await statusWith(`Bearer ${forged}`)).toEqual({ status: 401, code: "INVALID_TOKEN" });
  });

  it("refuses a token whose kid names a key with another algorithm", async () => {
    const forged = await signWith("ec-1", {}, { kid: "rsa-1" });
    expect(await statusWith(`Bearer ${forged}`)).toEqual({ status: 401, code: "INVALID_TOKEN" });
  });

  it("refuses an expired token with TOKEN_EXPIRED", async () => {
    const expired = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("alice")
      .setExpirationTime(now() - 120)
      .sign(hsKey);
    expect(await statusWith(`Bearer ${expired}`)).toEqual({ status: 401, code: "TOKEN_EXPIRED" });
  });

  it("tolerates small clock skew on exp but not more than 60 s", async () => {
    const justExpired = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("alice")
      .setExpirationTime(now() - 5)
      .sign(hsKey);
    expect((await statusWith(`Bearer ${justExpired}`)).status).toBe(200);
    const longExpired = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("alice")
      .setExpirationTime(now() - 61)
      .sign(hsKey);
    expect((await statusWith(`Bearer ${longExpired}`)).status).toBe(401);
  });

  it("refuses a token whose nbf is in the future", async () => {
    const early = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("alice")
      .setNotBefore(now() + 600)
      .setExpirationTime(now() + 1200)
      .sign(hsKey);
    expect(await statusWith(`Bearer ${early}`)).toEqual({ status: 401, code: "INVALID_TOKEN" });
  });

  it("refuses a token without exp", async () => {
    const forever = await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject("alice").sign(hsKey);
    expect(await statusWith(`Bearer ${forever}`)).toEqual({ status: 401, code: "INVALID_TOKEN" });
  });

  it("refuses a token without sub", async () => {
    const anonymous = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setExpirationTime(now() + 600)
      .sign(hsKey);
    expect(await statusWith(`Bearer ${anonymous}`)).toEqual({ status: 401, code: "INVALID_TOKEN" });
  });

  it("refuses a token with an unknown kid", async () => {
    const entry = TEST_KEYS["rsa-1"];
    const key = await importJWK(entry.private as JWK, entry.alg);
    const unknown = await new SignJWT({})
      .setProtectedHeader({ alg: "RS256", kid: "rotated-away" })
      .setSubject("alice")
      .setExpirationTime(now() + 600)
      .sign(key);
    expect(await statusWith(`Bearer ${unknown}`)).toEqual({ status: 401, code: "INVALID_TOKEN" });
  });

  it.each([
    ["garbage", "Bearer not-a-token"],
    ["three garbage parts", "Bearer a.b.c"],
    ["an empty bearer", "Bearer "],
    ["another scheme", "Basic YWxpY2U6cHc="],
  ])("refuses %s with 401", async (_name, authorization) => {
    expect((await statusWith(authorization)).status).toBe(401);
  });

  it("refuses an oversized token before parsing it", async () => {
    const huge = await token("alice", { padding: "x".repeat(10_000) });
    expect(await statusWith(`Bearer ${huge}`)).toEqual({ status: 401, code: "INVALID_TOKEN" });
  });

  it("remembers a verified token for its settings only, so the request path skips the signature check", async () => {
    const settings = { JWT_SECRET: TEST_SECRETS.JWT_SECRET };
    const fresh = await token("remembered");
    expect(rememberedCaller(fresh, settings)).toBeNull();
    await expect(verifyToken(fresh, settings)).resolves.toMatchObject({ sub: "remembered" });
    expect(rememberedCaller(fresh, settings)).toMatchObject({ kind: "user", sub: "remembered" });
    // Other keys or checks are another verdict: not remembered under them.
    expect(rememberedCaller(fresh, { ...settings, JWT_ISSUER: "https://issuer.example" })).toBeNull();
  });

  it("checks iss and aud when they are configured", async () => {
    const settings = { JWT_SECRET: TEST_SECRETS.JWT_SECRET, JWT_ISSUER: "https://issuer.example", JWT_AUDIENCE: "actorbase" };
    const right = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("alice")
      .setIssuer("https://issuer.example")
      .setAudience("actorbase")
      .setExpirationTime(now() + 600)
      .sign(hsKey);
    await expect(verifyToken(right, settings)).resolves.toMatchObject({ kind: "user", sub: "alice" });
    const wrongIssuer = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("alice")
      .setIssuer("https://evil.example")
      .setAudience("actorbase")
      .setExpirationTime(now() + 600)
      .sign(hsKey);
    await expect(verifyToken(wrongIssuer, settings)).rejects.toMatchObject({ status: 401, code: "INVALID_TOKEN" });
    const wrongAudience = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("alice")
      .setIssuer("https://issuer.example")
      .setAudience("other")
      .setExpirationTime(now() + 600)
      .sign(hsKey);
    await expect(verifyToken(wrongAudience, settings)).rejects.toMatchObject({ status: 401, code: "INVALID_TOKEN" });
  });

  it("refuses RS256 tokens when no JWK set is configured, even if well signed", async () => {
    await expect(verifyToken(await signWith("rsa-1"), { JWT_SECRET: TEST_SECRETS.JWT_SECRET })).rejects.toMatchObject({ status: 401 });
  });
});

describe("service key", () => {
  it("is accepted as a bearer credential and in X-Service-Key", async () => {
    expect((await call("/api/health", { headers: { Authorization: `Bearer ${TEST_SECRETS.SERVICE_KEY}` } })).status).toBe(200);
    expect((await call("/api/health", { headers: { "X-Service-Key": TEST_SECRETS.SERVICE_KEY } })).status).toBe(200);
  });

  it("answers a wrong key with 401, never downgrading to anonymous", async () => {
    const response = await call("/api/health", { headers: { "X-Service-Key": `${TEST_SECRETS.SERVICE_KEY}x` } });
    expect(response.status).toBe(401);
    expect((await problem(response)).code).toBe("INVALID_SERVICE_KEY");
  });
});

describe("verified-token cache", () => {
  it("does not reuse a verdict under different settings", async () => {
    const jwt = await token("alice");
    const settings = { JWT_SECRET: TEST_SECRETS.JWT_SECRET };
    await expect(verifyToken(jwt, settings)).resolves.toMatchObject({ sub: "alice" });
    await expect(verifyToken(jwt, { JWT_SECRET: "a-different-secret-0123456789abcdef" })).rejects.toMatchObject({ status: 401 });
    await expect(verifyToken(jwt, { ...settings, JWT_AUDIENCE: "someone-else" })).rejects.toMatchObject({ status: 401 });
  });
});
