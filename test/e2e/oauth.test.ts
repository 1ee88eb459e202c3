/**
 * OAuth/OIDC sign-in against a real OpenID provider on localhost, through a server of our own
 * (npm start's, or wrangler dev's under ACTORBASE_SERVER=wrangler) configured for it: discovery,
 * authorization code with PKCE, the callback, the exchange, then a write to the user's own block.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error plain ESM script without type declarations
import { freePort, startServer } from "../../scripts/server.mjs";
import { CookieJar, type TestProvider, startOidcProvider } from "./oidc-provider";
import { E2E_VARS } from "./secrets";

let idp: TestProvider;
let server: { url: string; stop: () => Promise<void> };
let dataDir: string;

beforeAll(async () => {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  idp = await startOidcProvider(`${origin}/api/auth/oauth/oidc/callback`);
  dataDir = mkdtempSync(join(tmpdir(), "actorbase-oauth-"));
  server = await startServer({
    port,
    persistTo: dataDir,
    vars: {
      ...E2E_VARS,
      OAUTH_OIDC_ISSUER: idp.issuer,
      OAUTH_OIDC_CLIENT_ID: idp.clientId,
      OAUTH_OIDC_CLIENT_SECRET: idp.clientSecret,
      AUTH_REDIRECT_URLS: "https://app.example.com/auth",
    },
  });
});

afterAll(async () => {
  await server?.stop();
  await idp?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** Follows redirects by hand from `url` until one leads back to the app (`stopAt`); returns that URL. */
async function browse(url: string, stopAt: string, jar = new CookieJar()): Promise<URL> {
  let next = url;
  for (let hop = 0; hop < 20; hop++) {
    if (next.startsWith(stopAt)) return new URL(next);
    const response = await fetch(next, { redirect: "manual", headers: { Cookie: jar.header() } });
    jar.take(response);
    const location = response.headers.get("Location");
    if (location === null) throw new Error(`${next} answered ${response.status} without a redirect: ${await response.text()}`);
    next = new URL(location, next).href;
  }
  throw new Error("too many redirects");
}

async function signInWithProvider(redirectTo: string): Promise<{ landing: URL; start: Response }> {
  const start = await fetch(`${server.url}/api/auth/oauth/oidc?redirectTo=${encodeURIComponent(redirectTo)}`, { redirect: "manual" });
  expect(start.status).toBe(302);
  const landing = await browse(start.headers.get("Location") as string, redirectTo);
  return { landing, start };
}

const exchange = (code: string) =>
  fetch(`${server.url}/api/auth/oauth/exchange`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ code }),
  });

describe("OAuth / OpenID Connect sign-in", () => {
  it("signs in through discovery, PKCE and the callback, then writes to the user's own block", async () => {
    idp.nextUser = { sub: "oidc-alice", email: `alice-${Date.now()}@example.com`, emailVerified: true };
    const redirectTo = `${server.url}/done`;
    const { landing, start } = await signInWithProvider(redirectTo);
    const authorize = new URL(start.headers.get("Location") as string);
    expect(authorize.origin).toBe(idp.issuer);
    expect(authorize.searchParams.get("code_challenge_method")).toBe("S256");
    expect(authorize.searchParams.get("state")).toBeTruthy();
    expect(authorize.searchParams.get("nonce")).toBeTruthy();
    const code = landing.searchParams.get("code");
    expect(code, landing.href).toBeTruthy();
    const exchanged = await exchange(code as string);
    expect(exchanged.status).toBe(200);
    const { user, session } = (await exchanged.json()) as {
      user: { id: string; email: string; emailVerified: boolean };
      session: { accessToken: string };
    };
    expect(user).toMatchObject({ email: idp.nextUser.email, emailVerified: true });
    const write = await fetch(`${server.url}/api/db/user:${user.id}/tables/notes`, {
      method: "POST",
      headers: { Authorization: `Bearer ${session.accessToken}`, "Content-Type": "application/json" },
      body: JSON.stringify({ title: "signed in with OIDC" }),
    });
    expect(write.status).toBe(201);
    // The same person again: the same account.
    const again = await signInWithProvider(redirectTo);
    const second = (await (await exchange(again.landing.searchParams.get("code") as string)).json()) as { user: { id: string } };
    expect(second.user.id).toBe(user.id);
  });

  it("links to the account that registered the same email, ending that account's password", async () => {
    const email = `bob-${Date.now()}@example.com`;
    const signup = await fetch(`${server.url}/api/auth/signup`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email, password: "registered by someone" }),
    });
    const registered = (await signup.json()) as { user: { id: string } };
    idp.nextUser = { sub: `oidc-bob-${Date.now()}`, email, emailVerified: true };
    const { landing } = await signInWithProvider(`${server.url}/done`);
    const { user } = (await (await exchange(landing.searchParams.get("code") as string)).json()) as { user: { id: string } };
    expect(user.id).toBe(registered.user.id);
    const signin = await fetch(`${server.url}/api/auth/signin`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email, password: "registered by someone" }),
    });
    expect(signin.status).toBe(401);
  });

  it("refuses a replayed code and a replayed state", async () => {
    idp.nextUser = { sub: "oidc-carol", email: "carol@example.com", emailVerified: true };
    const { landing } = await signInWithProvider(`${server.url}/done`);
    const code = landing.searchParams.get("code") as string;
    expect((await exchange(code)).status).toBe(200);
    const replayed = await exchange(code);
    expect(replayed.status).toBe(400);
    expect(((await replayed.json()) as { code: string }).code).toBe("INVALID_OAUTH_CODE");
    // The provider's callback to us, replayed with the state it carried: that state was taken already.
    const start = await fetch(`${server.url}/api/auth/oauth/oidc?redirectTo=${encodeURIComponent(`${server.url}/done`)}`, {
      redirect: "manual",
    });
    const jar = new CookieJar();
    const callback = await browse(start.headers.get("Location") as string, `${server.url}/api/auth/oauth/oidc/callback`, jar);
    const first = await fetch(callback.href, { redirect: "manual" });
    expect(first.status).toBe(302);
    expect(new URL(first.headers.get("Location") as string).searchParams.get("code")).toBeTruthy();
    const second = await fetch(callback.href, { redirect: "manual" });
    expect(second.status).toBe(400);
    expect(((await second.json()) as { code: string }).code).toBe("INVALID_OAUTH_STATE");
  });

  it("binds the code to the app that started the sign-in when it sends a PKCE challenge (no login CSRF)", async () => {
    const verifier = "v".repeat(43);
    const challenge = Buffer.from(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))).toString("base64url");
    const startWith = async (codeChallenge: string) => {
      const redirectTo = `${server.url}/done`;
      const start = await fetch(
        `${server.url}/api/auth/oauth/oidc?redirectTo=${encodeURIComponent(redirectTo)}&codeChallenge=${codeChallenge}`,
        {
          redirect: "manual",
        },
      );
      expect(start.status).toBe(302);
      return (await browse(start.headers.get("Location") as string, redirectTo)).searchParams.get("code") as string;
    };
    idp.nextUser = { sub: "oidc-mallory", email: "mallory@example.com", emailVerified: true };
    // The attacker finishes a sign-in as themselves and sends the victim the link with the code: the
    // victim's app exchanges it with its own verifier, which does not match.
    const planted = await startWith(challenge);
    const victim = await fetch(`${server.url}/api/auth/oauth/exchange`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ code: planted, codeVerifier: "w".repeat(43) }),
    });
    expect(victim.status).toBe(400);
    const victimBody = (await victim.json()) as { code: string; detail: string };
    expect(victimBody.code, victimBody.detail).toBe("INVALID_OAUTH_CODE");
    expect((await exchange(await startWith(challenge))).status).toBe(400); // no verifier at all
    const own = await fetch(`${server.url}/api/auth/oauth/exchange`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ code: await startWith(challenge), codeVerifier: verifier }),
    });
    expect(own.status).toBe(200);
    const bad = await fetch(`${server.url}/api/auth/oauth/oidc?redirectTo=${encodeURIComponent(`${server.url}/`)}&codeChallenge=short`, {
      redirect: "manual",
    });
    expect(bad.status).toBe(400);
  });

  it("passes a provider's error back only as one of OAuth's codes", async () => {
    for (const [sent, expected] of [
      ["access_denied", "access_denied"],
      ["<img src=x onerror=alert(1)>", "OAUTH_PROVIDER_FAILED"],
    ]) {
      const start = await fetch(`${server.url}/api/auth/oauth/oidc?redirectTo=${encodeURIComponent(`${server.url}/done`)}`, {
        redirect: "manual",
      });
      const state = new URL(start.headers.get("Location") as string).searchParams.get("state") as string;
      const callback = await fetch(
        `${server.url}/api/auth/oauth/oidc/callback?state=${state}&error=${encodeURIComponent(sent as string)}`,
        {
          redirect: "manual",
        },
      );
      expect(callback.status).toBe(302);
      expect(new URL(callback.headers.get("Location") as string).searchParams.get("error")).toBe(expected);
    }
  });

  it("refuses a redirectTo off the allow-list, and accepts one on it", async () => {
    for (const bad of [
      "https://evil.example.com/",
      "https://app.example.com.evil.com/auth",
      "https://app.example.com@evil.com/auth",
      "https://:pw@app.example.com/auth",
      "javascript:alert(1)",
      "",
    ]) {
      const response = await fetch(`${server.url}/api/auth/oauth/oidc?redirectTo=${encodeURIComponent(bad)}`, { redirect: "manual" });
      expect(response.status, bad).toBe(400);
      expect(((await response.json()) as { code: string }).code).toBe("INVALID_REDIRECT");
    }
    const listed = await fetch(`${server.url}/api/auth/oauth/oidc?redirectTo=${encodeURIComponent("https://app.example.com/auth/done")}`, {
      redirect: "manual",
    });
    expect(listed.status).toBe(302);
  });

  it("answers 404 for a provider the config lacks or the environment does not set up", async () => {
    for (const name of ["nope", "github"]) {
      const response = await fetch(`${server.url}/api/auth/oauth/${name}?redirectTo=${encodeURIComponent(`${server.url}/`)}`, {
        redirect: "manual",
      });
      expect(response.status, name).toBe(404);
      expect(((await response.json()) as { code: string }).code).toBe("PROVIDER_NOT_FOUND");
    }
  });
});
