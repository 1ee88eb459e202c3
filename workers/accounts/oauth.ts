/**
 * OAuth 2.0 / OpenID Connect sign-in with `oauth4webapi` (authorization code, PKCE, `state` and for
 * OIDC a `nonce`): providers of the config resolved against their environment, the authorization
 * URL, and the callback's code exchange down to a profile (subject, email, whether the provider
 * verified it). OIDC issuers are found by discovery and cached per isolate for ten minutes.
 */
import * as oauth from "oauth4webapi";
import type { OAuthProviderConfig } from "../../shared/config";
import { HttpError } from "../../shared/errors";
import { config } from "../config";

/** What a provider says about the person who signed in. */
export interface ProviderProfile {
  subject: string;
  email: string | null;
  emailVerified: boolean;
}

/** A provider ready to use: its config, its server's endpoints and this deployment's client. */
interface Provider {
  name: string;
  config: OAuthProviderConfig;
  server: oauth.AuthorizationServer;
  client: oauth.Client;
  auth: oauth.ClientAuth;
  scopes: string;
  /** Plain http, allowed for an issuer on this machine only (tests, local IdPs). */
  insecure: boolean;
}

const GITHUB: oauth.AuthorizationServer = {
  issuer: "https://github.com",
  authorization_endpoint: "https://github.com/login/oauth/authorize",
  token_endpoint: "https://github.com/login/oauth/access_token",
};
const GOOGLE_ISSUER = "https://accounts.google.com";
const DISCOVERY_TTL_MS = 10 * 60_000;
const discovered = new Map<string, { server: Promise<oauth.AuthorizationServer>; at: number }>();

/** The provider named in the route, with its endpoints (404 when the config has no such provider). */
export async function findProvider(env: Env, name: string): Promise<Provider> {
  const providerConfig = Object.hasOwn(config.auth.providers, name) ? config.auth.providers[name] : undefined;
  if (providerConfig === undefined) throw new HttpError(404, "PROVIDER_NOT_FOUND", `No OAuth provider "${name}" in actorbase.config.ts.`);
  const prefix = `OAUTH_${name.toUpperCase().replace(/-/g, "_")}_`;
  const variables = env as unknown as Record<string, string | undefined>;
  const clientId = variables[`${prefix}CLIENT_ID`]?.trim();
  const clientSecret = variables[`${prefix}CLIENT_SECRET`]?.trim();
  if (!clientId || !clientSecret)
    throw new HttpError(
      404,
      "PROVIDER_NOT_FOUND",
      `OAuth provider "${name}" is not set up: set ${prefix}CLIENT_ID and ${prefix}CLIENT_SECRET.`,
    );
  const issuer = providerConfig.kind === "google" ? GOOGLE_ISSUER : variables[`${prefix}ISSUER`]?.trim() || providerConfig.issuer;
  const insecure = issuer !== undefined && /^http:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d+)?(\/|$)/.test(issuer);
  let server: oauth.AuthorizationServer;
  if (providerConfig.kind === "github") {
    server = GITHUB;
  } else {
    if (!issuer) throw new HttpError(404, "PROVIDER_NOT_FOUND", `OAuth provider "${name}" needs an issuer: set ${prefix}ISSUER.`);
    server = await discover(issuer, insecure);
  }
  const scopes = (
    providerConfig.scopes ?? (providerConfig.kind === "github" ? ["read:user", "user:email"] : ["openid", "email", "profile"])
  ).join(" ");
  return {
    name,
    config: providerConfig,
    server,
    client: { client_id: clientId },
    auth: oauth.ClientSecretPost(clientSecret),
    scopes,
    insecure,
  };
}

async function discover(issuer: string, insecure: boolean): Promise<oauth.AuthorizationServer> {
  const cached = discovered.get(issuer);
  if (cached !== undefined && Date.now() - cached.at < DISCOVERY_TTL_MS) return cached.server;
  const server = (async () => {
    const url = new URL(issuer);
    const response = await oauth.discoveryRequest(url, { algorithm: "oidc", [oauth.allowInsecureRequests]: insecure });
    return oauth.processDiscoveryResponse(url, response);
  })();
  discovered.set(issuer, { server, at: Date.now() });
  try {
    return await server;
  } catch (cause) {
    discovered.delete(issuer);
    throw failed(`discovery at ${issuer} failed`, cause);
  }
}

/** The provider's authorization URL for one sign-in. */
export async function authorizationUrl(
  provider: Provider,
  callbackUrl: string,
  state: string,
  codeVerifier: string,
  nonce: string,
): Promise<string> {
  const url = new URL(provider.server.authorization_endpoint as string);
  url.searchParams.set("client_id", provider.client.client_id);
  url.searchParams.set("redirect_uri", callbackUrl);
  url.searchParams.set("response_type", "code");
  url.searchParams.set("scope", provider.scopes);
  url.searchParams.set("state", state);
  url.searchParams.set("code_challenge", await oauth.calculatePKCECodeChallenge(codeVerifier));
  url.searchParams.set("code_challenge_method", "S256");
  if (provider.config.kind !== "github") url.searchParams.set("nonce", nonce);
  return url.href;
}

/** Exchanges the callback's code (checked against `state`) for the profile of who signed in. */
export async function completeSignIn(
  provider: Provider,
  callback: URL,
  state: string,
  codeVerifier: string,
  nonce: string,
  callbackUrl: string,
): Promise<ProviderProfile> {
  const options = { [oauth.allowInsecureRequests]: provider.insecure };
  let params: URLSearchParams;
  try {
    params = oauth.validateAuthResponse(provider.server, provider.client, callback, state);
  } catch (cause) {
    throw new HttpError(400, "INVALID_OAUTH_CODE", "The provider's answer is not valid for this sign-in.", { cause });
  }
  try {
    const response = await oauth.authorizationCodeGrantRequest(
      provider.server,
      provider.client,
      provider.auth,
      params,
      callbackUrl,
      codeVerifier,
      options,
    );
    if (provider.config.kind === "github") {
      const tokens = await oauth.processAuthorizationCodeResponse(provider.server, provider.client, response);
      return await githubProfile(tokens.access_token);
    }
    const tokens = await oauth.processAuthorizationCodeResponse(provider.server, provider.client, response, {
      expectedNonce: nonce,
      requireIdToken: true,
    });
    const claims = oauth.getValidatedIdTokenClaims(tokens) as oauth.IDToken;
    let email = typeof claims.email === "string" ? claims.email : null;
    let verified = claims.email_verified === true;
    if (email === null && provider.server.userinfo_endpoint) {
      const info = await oauth.processUserInfoResponse(
        provider.server,
        provider.client,
        claims.sub,
        await oauth.userInfoRequest(provider.server, provider.client, tokens.access_token, options),
      );
      email = typeof info.email === "string" ? info.email : null;
      verified = info.email_verified === true;
    }
    return { subject: claims.sub, email: email?.trim().toLowerCase() ?? null, emailVerified: email !== null && verified };
  } catch (cause) {
    if (cause instanceof HttpError) throw cause;
    if (cause instanceof oauth.ResponseBodyError && cause.error === "invalid_grant")
      throw new HttpError(400, "INVALID_OAUTH_CODE", "The provider refused the code (used already or expired); sign in again.", { cause });
    throw failed("the code exchange failed", cause);
  }
}

async function githubProfile(accessToken: string): Promise<ProviderProfile> {
  const headers = { Authorization: `Bearer ${accessToken}`, Accept: "application/vnd.github+json", "User-Agent": "actorbase" };
  const user = (await (await fetch("https://api.github.com/user", { headers })).json()) as { id?: number };
  if (typeof user.id !== "number") throw failed("GitHub did not say who signed in", null);
  const emails = (await (await fetch("https://api.github.com/user/emails", { headers })).json()) as {
    email: string;
    primary: boolean;
    verified: boolean;
  }[];
  const primary = Array.isArray(emails) ? emails.find((e) => e.primary && e.verified) : undefined;
  return { subject: String(user.id), email: primary?.email.toLowerCase() ?? null, emailVerified: primary !== undefined };
}

function failed(what: string, cause: unknown): HttpError {
  return new HttpError(502, "OAUTH_PROVIDER_FAILED", `OAuth sign-in could not finish: ${what}.`, { cause });
}
