/**
 * A real OpenID provider on localhost for the sign-in tests: `oidc-provider` with one confidential
 * client, PKCE required, and an interaction endpoint that signs in whoever the test names next and
 * grants the scopes asked for (a person clicking "sign in" and "allow"). Plus a cookie jar, since
 * the provider keeps its interaction in cookies.
 */
import { once } from "node:events";
import { type IncomingMessage, type ServerResponse, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import Provider from "oidc-provider";

export interface TestProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Who the next interaction signs in, and the email the provider vouches for. */
  nextUser: { sub: string; email: string; emailVerified: boolean };
  close(): Promise<void>;
}

export async function startOidcProvider(redirectUri: string): Promise<TestProvider> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const state: TestProvider = {
    issuer,
    clientId: "actorbase-e2e",
    clientSecret: "actorbase-e2e-secret-0123456789abcdef",
    nextUser: { sub: "oidc-alice", email: "alice@example.com", emailVerified: true },
    close: async () => {
      server.close();
      server.closeAllConnections();
      await once(server, "close");
    },
  };
  const accounts = new Map<string, TestProvider["nextUser"]>();
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: state.clientId,
        client_secret: state.clientSecret,
        redirect_uris: [redirectUri],
        grant_types: ["authorization_code"],
        response_types: ["code"],
        token_endpoint_auth_method: "client_secret_post",
        application_type: "native",
      },
    ],
    pkce: { required: () => true },
    claims: { openid: ["sub"], email: ["email", "email_verified"] },
    findAccount: (_ctx, sub) => {
      const user = accounts.get(sub);
      return user === undefined
        ? undefined
        : { accountId: sub, claims: async () => ({ sub, email: user.email, email_verified: user.emailVerified }) };
    },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    cookies: { keys: ["actorbase-e2e-cookie-key"] },
  });
  const callback = provider.callback();
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    if (!req.url?.startsWith("/interaction/")) return callback(req, res);
    void (async () => {
      const details = await provider.interactionDetails(req, res);
      if (details.prompt.name === "login") {
        const user = { ...state.nextUser };
        accounts.set(user.sub, user);
        await provider.interactionFinished(req, res, { login: { accountId: user.sub } }, { mergeWithLastSubmission: false });
        return;
      }
      const grant = new provider.Grant({ accountId: details.session?.accountId as string, clientId: details.params.client_id as string });
      grant.addOIDCScope(String(details.params.scope));
      await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
    })().catch((error) => {
      res.statusCode = 500;
      res.end(String(error));
    });
  });
  return state;
}

/** Cookies by name, sent back on every request to the provider (enough for its interaction cookies). */
export class CookieJar {
  readonly #cookies = new Map<string, string>();

  take(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair = ""] = line.split(";");
      const at = pair.indexOf("=");
      if (at > 0) this.#cookies.set(pair.slice(0, at).trim(), pair.slice(at + 1).trim());
    }
  }

  header(): string {
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join("; ");
  }
}
