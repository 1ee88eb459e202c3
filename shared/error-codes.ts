/**
 * Every error code Actorbase sends, as one closed union shared by the server and the client: the
 * `code` of an HTTP problem, of a WebSocket `error` frame, and the name of a close code. Clients
 * switch on it; a code once published keeps its meaning (docs/api.md lists them).
 */

/** Each code with the HTTP status it is sent with (socket-only codes carry the status they mirror). */
export const ERROR_STATUS = {
  // 400: the request cannot be understood
  INVALID_JSON: 400,
  JSON_TOO_DEEP: 400,
  INVALID_REQUEST: 400,
  INVALID_BLOCK: 400,
  INVALID_TABLE: 400,
  INVALID_ID: 400,
  INVALID_KEY: 400,
  INVALID_BATCH: 400,
  INVALID_CURSOR: 400,
  INVALID_IF_MATCH: 400,
  INVALID_IDEMPOTENCY_KEY: 400,
  INVALID_ON_CONFLICT: 400,
  INVALID_QUERY: 400,
  INVALID_LIMIT: 400,
  INVALID_VALUE: 400,
  INVALID_SEARCH: 400,
  SEARCH_NOT_AVAILABLE: 400,
  UNKNOWN_COLUMN: 400,
  RESERVED_WORD: 400,
  MISSING_OPERATOR: 400,
  UNSUPPORTED_OPERATOR: 400,
  QUERY_TOO_LONG: 400,
  FILTER_TOO_DEEP: 400,
  FILTER_TOO_COMPLEX: 400,
  INVALID_IMPORT: 400,
  INVALID_EMAIL_TOKEN: 400,
  INVALID_REDIRECT: 400,
  INVALID_OAUTH_STATE: 400,
  INVALID_OAUTH_CODE: 400,
  // 400 on the PostgREST routes: a PostgREST feature Actorbase does not offer (embedding, RPC, aggregates)
  NOT_SUPPORTED: 400,
  // 400 on a socket: a malformed or unknown message (the socket stays open)
  INVALID_MESSAGE: 400,
  INVALID_FILTER: 400,
  UNKNOWN_TYPE: 400,
  BINARY_NOT_SUPPORTED: 400,
  SUBSCRIPTION_EXISTS: 409,
  // 401: credentials missing, invalid or expired
  AUTH_REQUIRED: 401,
  INVALID_CREDENTIALS: 401,
  INVALID_TOKEN: 401,
  TOKEN_EXPIRED: 401,
  INVALID_SERVICE_KEY: 401,
  AUTH_FAILED: 401,
  INVALID_REFRESH_TOKEN: 401,
  REFRESH_TOKEN_REUSED: 401,
  SESSION_ENDED: 401,
  AUTH_TIMEOUT: 408,
  // 403: a rule, the configuration or an operator says no
  FORBIDDEN: 403,
  ORIGIN_NOT_ALLOWED: 403,
  ACCOUNT_DISABLED: 403,
  // 404, 405, 426
  NOT_FOUND: 404,
  NAMESPACE_NOT_FOUND: 404,
  TABLE_NOT_FOUND: 404,
  ROW_NOT_FOUND: 404,
  PROVIDER_NOT_FOUND: 404,
  ACCOUNT_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  // 406 on the PostgREST routes: one object was asked for (vnd.pgrst.object+json) and 0 or 2+ rows matched
  NOT_ACCEPTABLE: 406,
  UPGRADE_REQUIRED: 426,
  // 409, 412: the data changed or conflicts
  UNIQUE_CONFLICT: 409,
  EMAIL_TAKEN: 409,
  ALREADY_LINKED: 409,
  BLOCK_NOT_EMPTY: 409,
  IMPORT_IN_PROGRESS: 409,
  VERSION_MISMATCH: 412,
  // 413, 415: too much, or not JSON
  BODY_TOO_LARGE: 413,
  TOO_MANY_ROWS: 413,
  MESSAGE_TOO_BIG: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  // 422: understood but not acceptable
  VALIDATION_FAILED: 422,
  INVALID_EMAIL: 422,
  WEAK_PASSWORD: 422,
  IDEMPOTENCY_KEY_REUSED: 422,
  UNKNOWN_POLICY: 422,
  INVALID_POLICY: 422,
  COST_EXCEEDS_CAPACITY: 422,
  SUBSCRIPTION_LIMIT: 422,
  PRESENCE_LIMIT: 422,
  PRESENCE_STATE_TOO_LARGE: 422,
  // 429, 503: slow down
  RATE_LIMITED: 429,
  TRY_AGAIN_LATER: 503,
  // 502: an OAuth provider did not answer as it should
  OAUTH_PROVIDER_FAILED: 502,
  // 500: the server or its configuration is at fault
  INTERNAL: 500,
  AUTH_MISCONFIGURED: 500,
  POLICY_MISCONFIGURED: 500,
  RATE_LIMIT_MISCONFIGURED: 500,
  LIVE_ACTORS_MISCONFIGURED: 500,
  RULE_FILTER_INVALID: 500,
  SCHEMA_CHANGE_REFUSED: 500,
} as const satisfies Record<string, number>;

/** A stable UPPER_SNAKE error code the server sends. */
export type ErrorCode = keyof typeof ERROR_STATUS;

/** Whether a string received from the wire is one of the codes above. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && Object.hasOwn(ERROR_STATUS, value);
}

/**
 * What the client reports beside the server's codes: `HTTP_ERROR` for an answer that carried no
 * problem details (a proxy's error page), `CLOSED` for a socket closed with a code the server does not use.
 */
export type ClientErrorCode = ErrorCode | "HTTP_ERROR" | "CLOSED";
