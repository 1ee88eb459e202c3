/**
 * Errors on the PostgREST routes (docs/postgrest.md, "Errors"): PostgREST's `code`, `message`,
 * `details` and `hint` at the top level, where postgrest-js and supabase-js read them, beside our
 * problem fields (`type`, `title`, `status`, `detail`). Our own stable code moves to `actorbaseCode`,
 * since `code` is PostgREST's (`PGRST116`, `42703`, `23505`, ...) or, where PostgREST has none, ours.
 */
import { type ErrorCode, HttpError, asHttpError } from "../../shared/errors";
import type { AppRequest } from "../context";

/** An error that names PostgREST's code for itself (and optionally its details and hint). */
export class PostgrestError extends HttpError {
  readonly pgrstCode: string;
  readonly pgrstDetails: string | null;
  readonly hint: string | null;

  constructor(status: number, code: ErrorCode, pgrstCode: string, message: string, extra: { details?: string; hint?: string } = {}) {
    super(status, code, message);
    this.pgrstCode = pgrstCode;
    this.pgrstDetails = extra.details ?? null;
    this.hint = extra.hint ?? null;
  }
}

/** A request PostgREST would parse but Actorbase does not understand: 400 `PGRST100`. */
export function parseError(message: string, code: ErrorCode = "INVALID_QUERY", hint?: string): PostgrestError {
  return new PostgrestError(400, code, "PGRST100", message, hint === undefined ? {} : { hint });
}

/** A PostgREST feature Actorbase does not offer: 400 `NOT_SUPPORTED` with PostgREST's nearest code. */
export function notSupported(message: string, pgrstCode = "PGRST100"): PostgrestError {
  return new PostgrestError(400, "NOT_SUPPORTED", pgrstCode, message, { hint: "See docs/postgrest.md for what is supported." });
}

/** A column the table does not have: 400 `42703`, as PostgreSQL says it. */
export function unknownColumn(table: string, column: string): PostgrestError {
  return new PostgrestError(400, "UNKNOWN_COLUMN", "42703", `column ${table}.${column.slice(0, 64)} does not exist`);
}

/** PostgREST's code for each of ours that has one; the rest keep ours (they never collide: PostgREST's are PGRST### or SQLSTATEs). */
const PGRST_CODES: Partial<Record<ErrorCode, string>> = {
  INVALID_QUERY: "PGRST100",
  INVALID_LIMIT: "PGRST100",
  MISSING_OPERATOR: "PGRST100",
  UNSUPPORTED_OPERATOR: "PGRST100",
  RESERVED_WORD: "42703",
  UNKNOWN_COLUMN: "42703",
  INVALID_VALUE: "22P02",
  QUERY_TOO_LONG: "PGRST100",
  FILTER_TOO_DEEP: "PGRST100",
  FILTER_TOO_COMPLEX: "PGRST100",
  INVALID_SEARCH: "PGRST100",
  SEARCH_NOT_AVAILABLE: "PGRST100",
  INVALID_JSON: "PGRST102",
  JSON_TOO_DEEP: "PGRST102",
  INVALID_BLOCK: "PGRST106",
  NAMESPACE_NOT_FOUND: "PGRST106",
  TABLE_NOT_FOUND: "PGRST205",
  INVALID_ON_CONFLICT: "42P10",
  AUTH_REQUIRED: "42501",
  FORBIDDEN: "42501",
  INVALID_CREDENTIALS: "PGRST301",
  INVALID_TOKEN: "PGRST301",
  INVALID_SERVICE_KEY: "PGRST301",
  TOKEN_EXPIRED: "PGRST303",
  UNIQUE_CONFLICT: "23505",
  VALIDATION_FAILED: "23514",
};

const HINTS: Partial<Record<ErrorCode, string>> = {
  AUTH_REQUIRED: "Sign in: send the user's JWT as the bearer (supabase-js: createClient's accessToken option).",
  INVALID_BLOCK: 'Name the block as the schema: .schema("user:<id>") or a static namespace such as .schema("public").',
  NAMESPACE_NOT_FOUND: 'Name the block as the schema: .schema("user:<id>") or a static namespace such as .schema("public").',
};

/**
 * Renders anything thrown on a PostgREST route as PostgREST's error JSON with our problem fields,
 * and records it for the request's log line as the router's own error boundary would.
 */
export function postgrestErrorResponse(err: unknown, request: AppRequest): Response {
  const error = asHttpError(err);
  const problem = error.toProblem();
  request.state.failure =
    problem.status >= 500 ? { code: problem.code, cause: (err as Error)?.stack ?? String(err) } : { code: problem.code };
  const own = error instanceof PostgrestError ? error : null;
  const fieldDetails = problem.errors
    ? Object.entries(problem.errors)
        .map(([field, message]) => `${field}: ${message}`)
        .join("; ")
    : null;
  const body = {
    code: own?.pgrstCode ?? PGRST_CODES[problem.code] ?? problem.code,
    message: problem.detail,
    details: own?.pgrstDetails ?? fieldDetails,
    hint: own?.hint ?? HINTS[problem.code] ?? null,
    type: problem.type,
    title: problem.status === 406 ? "Not Acceptable" : problem.title,
    status: problem.status,
    detail: problem.detail,
    actorbaseCode: problem.code,
    ...(problem.errors ? { errors: problem.errors } : {}),
  };
  const headers = new Headers(error.headers);
  headers.set("Content-Type", "application/json; charset=utf-8");
  return new Response(JSON.stringify(body), { status: problem.status, headers });
}
