/**
 * The accounts routes (`/api/auth/...`, docs/auth.md) and the public key set. "Limited" routes count
 * attempts per client IP (and per email where noted): 429 with Retry-After.
 */
import { emptyResponse, jsonBody, jsonResponse, object, schemaRef } from "./media";
import type { OperationSpec, Schema } from "./types";

const TAGS = ["auth"] as const;
const userAndSession = (description: string) => jsonResponse(description, schemaRef("UserAndSession"));
const userOnly = (description: string) => jsonResponse(description, schemaRef("UserOnly"));
const token: Schema = object({ token: { type: "string" } }, ["token"], { additionalProperties: false });
const redirect = (description: string) => emptyResponse(description, { Location: { schema: { type: "string", format: "uri" } } });

/** The accounts operations, keyed by `METHOD /path`. */
export const AUTH_OPERATIONS: Record<string, OperationSpec> = {
  "POST /api/auth/signup": {
    operationId: "signUp",
    summary: "Create an account",
    description: "Limited per IP and per email. Emails are trimmed and lowercased; passwords 8-256 characters. Opens a session at once.",
    tags: TAGS,
    access: "public",
    requestBody: jsonBody(
      object(
        { email: { type: "string" }, password: { type: "string", minLength: 8, maxLength: 256 }, data: { type: "object" } },
        ["email", "password"],
        { additionalProperties: false },
      ),
    ),
    responses: { "201": userAndSession("The new user and a session.") },
    errors: [400, 409, 413, 415, 422],
  },
  "POST /api/auth/signin": {
    operationId: "signIn",
    summary: "Sign in with email and password",
    description:
      "Limited per IP and per email. An unknown email and a wrong password give the same 401 INVALID_CREDENTIALS; a disabled account 403 ACCOUNT_DISABLED.",
    tags: TAGS,
    access: "public",
    requestBody: jsonBody(schemaRef("Credentials")),
    responses: { "200": userAndSession("The user and a new session.") },
    errors: [400, 403, 415],
  },
  "POST /api/auth/refresh": {
    operationId: "refresh",
    summary: "Trade a refresh token for a new session pair",
    description: "The refresh token is spent; presenting a spent one again ends the whole session (401 REFRESH_TOKEN_REUSED).",
    tags: TAGS,
    access: "public",
    requestBody: jsonBody(object({ refreshToken: { type: "string" } }, ["refreshToken"], { additionalProperties: false })),
    responses: { "200": userAndSession("A new pair for the same session.") },
    errors: [400, 415],
  },
  "POST /api/auth/signout": {
    operationId: "signOut",
    summary: "End this session, or every session of the user",
    tags: TAGS,
    access: "session",
    requestBody: {
      required: false,
      content: {
        "application/json": {
          schema: object({ scope: { type: "string", enum: ["session", "all"] } }, [], { additionalProperties: false }),
        },
      },
    },
    responses: { "204": emptyResponse("Signed out; the refresh token stops working.") },
    errors: [400, 415],
  },
  "GET /api/auth/user": {
    operationId: "getUser",
    summary: "The signed-in user",
    tags: TAGS,
    access: "session",
    responses: { "200": userOnly("The user.") },
  },
  "PATCH /api/auth/user": {
    operationId: "updateUser",
    summary: "Replace the user's data, or change the password",
    description: "`password` needs `currentPassword`; a password change ends every other session.",
    tags: TAGS,
    access: "session",
    requestBody: jsonBody(
      object(
        { data: { type: "object" }, password: { type: "string", minLength: 8, maxLength: 256 }, currentPassword: { type: "string" } },
        [],
        {
          additionalProperties: false,
          minProperties: 1,
        },
      ),
    ),
    responses: { "200": userOnly("The updated user.") },
    errors: [400, 412, 413, 415, 422],
  },
  "POST /api/auth/anonymous": {
    operationId: "signInAnonymously",
    summary: "Start a session for a new anonymous user",
    tags: TAGS,
    access: "public",
    responses: { "201": userAndSession("An anonymous user (`email: null`) and its session.") },
  },
  "POST /api/auth/link": {
    operationId: "link",
    summary: "Turn an anonymous user into a full account",
    description: "Keeps the user id; answers a new session.",
    tags: TAGS,
    access: "session",
    requestBody: jsonBody(schemaRef("Credentials")),
    responses: { "200": userAndSession("The same user with an email, and a new session.") },
    errors: [400, 403, 409, 415, 422],
  },
  "POST /api/auth/verify/request": {
    operationId: "requestVerification",
    summary: "Email a verification link",
    tags: TAGS,
    access: "session",
    responses: { "202": jsonResponse("The mail was handed to the mailer.", schemaRef("Sent")) },
    errors: [422, 503],
  },
  "POST /api/auth/verify": {
    operationId: "verifyEmail",
    summary: "Verify an email with the token from the mail",
    tags: TAGS,
    access: "public",
    requestBody: jsonBody(token),
    responses: { "200": userOnly("The user, `emailVerified: true`.") },
    errors: [400, 415],
  },
  "POST /api/auth/recover": {
    operationId: "recover",
    summary: "Email a password-reset link",
    description: "Answers 202 whether or not the email has an account.",
    tags: TAGS,
    access: "public",
    requestBody: jsonBody(object({ email: { type: "string" } }, ["email"], { additionalProperties: false })),
    responses: { "202": jsonResponse("Accepted.", schemaRef("Sent")) },
    errors: [400, 415, 422, 503],
  },
  "POST /api/auth/reset": {
    operationId: "resetPassword",
    summary: "Set a new password with the token from the mail",
    description: "Ends every session of the user.",
    tags: TAGS,
    access: "public",
    requestBody: jsonBody(
      object({ token: { type: "string" }, password: { type: "string", minLength: 8, maxLength: 256 } }, ["token", "password"], {
        additionalProperties: false,
      }),
    ),
    responses: { "200": userOnly("The user.") },
    errors: [400, 415, 422],
  },
  "GET /api/auth/outbox": {
    operationId: "readOutbox",
    summary: "Mail the log mailer kept (development)",
    tags: TAGS,
    access: "service",
    parameters: [
      { name: "to", in: "query", description: "Only mail to this address.", schema: { type: "string" } },
      { name: "limit", in: "query", description: "At most this many, newest first.", schema: { type: "integer", minimum: 1 } },
    ],
    responses: { "200": jsonResponse("Newest first.", object({ items: { type: "array", items: { type: "object" } } }, ["items"])) },
    errors: [403],
  },
  "POST /api/auth/keys/rotate": {
    operationId: "rotateKeys",
    summary: "Rotate the access-token signing key",
    description: "A new key signs from now on; the old one stays published until the tokens it signed have expired.",
    tags: TAGS,
    access: "service",
    responses: {
      "200": jsonResponse(
        "The new key id and the retired one.",
        object({ kid: { type: "string" }, retired: { type: ["string", "null"] } }, ["kid"]),
      ),
    },
    errors: [403],
  },
  "POST /api/auth/oauth/exchange": {
    operationId: "exchangeCode",
    summary: "Exchange the one-time code from an OAuth redirect for a session",
    tags: TAGS,
    access: "public",
    requestBody: jsonBody(
      object(
        { code: { type: "string" }, codeVerifier: { type: "string", description: "Required when the sign-in sent a codeChallenge." } },
        ["code"],
        {
          additionalProperties: false,
        },
      ),
    ),
    responses: { "200": userAndSession("The user and a new session.") },
    errors: [400, 403, 415],
  },
  "GET /api/auth/oauth/:provider": {
    operationId: "startOAuth",
    summary: "Start signing in with a provider",
    tags: TAGS,
    access: "public",
    parameters: [
      {
        name: "redirectTo",
        in: "query",
        required: true,
        description: "Where to return; must match the allow-list.",
        schema: { type: "string", format: "uri" },
      },
      { name: "codeChallenge", in: "query", description: "PKCE S256 challenge of the client's verifier.", schema: { type: "string" } },
    ],
    responses: { "302": redirect("To the provider's authorization page.") },
    errors: [400, 404, 502],
  },
  "GET /api/auth/oauth/:provider/callback": {
    operationId: "oauthCallback",
    summary: "The provider's redirect back (not called by clients)",
    tags: TAGS,
    access: "public",
    parameters: [
      { name: "code", in: "query", schema: { type: "string" } },
      { name: "state", in: "query", schema: { type: "string" } },
    ],
    responses: { "302": redirect("To redirectTo with `?code=` or `?error=`.") },
    errors: [400],
  },
  "GET /.well-known/jwks.json": {
    operationId: "jwks",
    summary: "The public keys of this server's access tokens",
    tags: TAGS,
    access: "public",
    responses: {
      "200": jsonResponse("Newest first; cached for a minute.", object({ keys: { type: "array", items: { type: "object" } } }, ["keys"]), {
        "Cache-Control": { schema: { type: "string" } },
      }),
    },
  },
};
