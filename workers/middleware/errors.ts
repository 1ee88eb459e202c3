import { HttpError, asHttpError, problemResponse } from "../../shared/errors";
import type { AppRequest } from "../context";
import { postgrestErrorResponse } from "../postgrest/errors";
import { discardBody } from "./body";
import { logRequest } from "./request-log";

const REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/** First in the chain: gives the request an id (a sane incoming `X-Request-Id` is kept) and a start time. */
export function withRequestState(request: AppRequest): void {
  const incoming = request.headers.get("X-Request-Id");
  request.state = {
    id: incoming && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID(),
    path: pathOf(request.url),
    startedAt: Date.now(),
    responseHeaders: {},
    timings: [],
  };
}

/**
 * The path of a URL the runtime already parsed and serialized (so normalized), read without a
 * second `new URL` (itty's router parses it once already; this runs on every request).
 */
export function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start === -1) return "/";
  const query = url.indexOf("?", start);
  return url.slice(start, query === -1 ? url.length : query);
}

/**
 * The one place an error becomes a response: problem+json with the error's status and code; on the
 * PostgREST routes, with PostgREST's fields beside them (an expired token or a 429 included).
 */
export function renderError(err: unknown, request: AppRequest): Response {
  if (request.state && isPostgrestPath(request.state.path)) return postgrestErrorResponse(err, request);
  const error = asHttpError(err);
  const problem = error.toProblem();
  // Logged once, by finishResponse, with the request's line (the stack only for a 5xx).
  if (request.state)
    request.state.failure =
      problem.status >= 500 ? { code: problem.code, cause: (err as Error)?.stack ?? String(err) } : { code: problem.code };
  return problemResponse(problem, error.headers);
}

function isPostgrestPath(path: string): boolean {
  return path.startsWith("/rest/") || path.startsWith("/api/rest/");
}

/**
 * Last in the chain: every response gets `X-Request-Id`, `Server-Timing` and the headers middleware
 * queued; a missing response becomes a 404; then the request log decides whether to write its line.
 */
export function finishResponse(response: Response | undefined, request: AppRequest, env: Env): Response | Promise<Response> {
  // An early answer (error, DELETE with a body) leaves a body unread: see discardBody.
  if (request.body !== null && !request.bodyUsed) return discardBody(request).then(() => finish(response, request, env));
  return finish(response, request, env);
}

/** finishResponse once the request's body is settled. */
function finish(response: Response | undefined, request: AppRequest, env: Env): Response {
  let out = response ?? renderError(new HttpError(404, "NOT_FOUND", "No route matches this path."), request);
  if (out.status === 101) return out; // WebSocket upgrades carry no extra headers.
  const state = request.state;
  try {
    out.headers.set("X-Request-Id", state?.id ?? crypto.randomUUID());
  } catch {
    // Responses passed through from fetch() have immutable headers: copy once.
    out = new Response(out.body, out);
    out.headers.set("X-Request-Id", state?.id ?? crypto.randomUUID());
  }
  const ms = Date.now() - (state?.startedAt ?? Date.now());
  if (state) {
    for (const name in state.responseHeaders) {
      if (!out.headers.has(name)) out.headers.set(name, state.responseHeaders[name] as string);
    }
  }
  const timing = `total;dur=${ms}`;
  out.headers.append("Server-Timing", state && state.timings.length > 0 ? `${state.timings.join(", ")}, ${timing}` : timing);
  logRequest(request, env, out.status, ms);
  return out;
}
