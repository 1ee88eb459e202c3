/**
 * One error type for the whole platform, with two renderers. Throw `HttpError` anywhere; the router
 * converts it exactly once into an RFC 9457 problem+json response, and the RealtimeDO into a socket
 * `error` frame. Actors return `ProblemData` across RPC (errors lose their custom fields when they
 * cross an RPC boundary) and the Worker rethrows it with `fromProblem`. Codes: shared/error-codes.ts.
 */
import type { ErrorCode } from "./error-codes";

export type { ErrorCode } from "./error-codes";

export interface ProblemData {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  errors?: Record<string, string>;
}

export interface HttpErrorOptions {
  cause?: unknown;
  errors?: Record<string, string>;
  headers?: Record<string, string>;
  /** On a socket: the subscription id the error is about (the frame's `ref`). */
  ref?: string;
}

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  409: "Conflict",
  412: "Precondition Failed",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  428: "Precondition Required",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

/** An error with an HTTP status and a stable UPPER_SNAKE `code` that clients switch on. */
export class HttpError extends Error {
  readonly status: number;
  readonly code: ErrorCode;
  readonly detail: string;
  readonly errors: Record<string, string> | undefined;
  readonly headers: Record<string, string> | undefined;
  readonly ref: string | undefined;

  constructor(status: number, code: ErrorCode, detail: string, options: HttpErrorOptions = {}) {
    super(detail, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "HttpError";
    this.status = status;
    this.code = code;
    this.detail = detail;
    this.errors = options.errors;
    this.headers = options.headers;
    this.ref = options.ref;
  }

  /** Rebuilds an error from the problem data an actor returned over RPC. */
  static fromProblem(problem: ProblemData, headers?: Record<string, string>): HttpError {
    return new HttpError(problem.status, problem.code, problem.detail, {
      ...(problem.errors ? { errors: problem.errors } : {}),
      ...(headers ? { headers } : {}),
    });
  }

  /** The serializable problem body for this error. */
  toProblem(): ProblemData {
    return {
      type: `https://actorbase.dev/problems/${this.code.toLowerCase().replaceAll("_", "-")}`,
      title: TITLES[this.status] ?? "Error",
      status: this.status,
      detail: this.detail,
      code: this.code,
      ...(this.errors ? { errors: this.errors } : {}),
    };
  }

  /** The same error as a socket `error` frame: `{"type":"error","code","message","ref"?}`. */
  toFrame(): string {
    return JSON.stringify({ type: "error", code: this.code, message: this.detail, ...(this.ref === undefined ? {} : { ref: this.ref }) });
  }
}

/**
 * What the runtime reports when the host runs out of something for a moment: memory or file handles
 * for an actor's SQLite (thousands of live actors on one machine), or an overloaded actor. An actor
 * that could not start at all reaches the Worker as workerd's sanitized "internal error; reference
 * = ..." (a runtime failure, never a JavaScript one, which keeps its message): also a 503. A full
 * disk stays a 500: a retry would not help.
 */
const EXHAUSTED = /SQLITE_NOMEM|out of memory|too many open files|EMFILE|ENFILE|overloaded|^(Error: )?internal error; reference = /i;

/**
 * Anything thrown as an `HttpError`: resource exhaustion is a 503 with `Retry-After` (it passes),
 * any other unknown error an opaque 500 (the cause is logged, not sent).
 */
export function asHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (EXHAUSTED.test(err instanceof Error ? err.message : String(err))) {
    return new HttpError(
      503,
      "TRY_AGAIN_LATER",
      "The server is short of a resource (memory, open files or actor capacity) for a moment; retry shortly.",
      {
        headers: { "Retry-After": "1" },
        cause: err,
      },
    );
  }
  return new HttpError(500, "INTERNAL", "An unexpected error occurred; retry, and report the X-Request-Id if it persists.", { cause: err });
}

/** Maps anything thrown to problem data (see asHttpError). */
export function toProblem(err: unknown): ProblemData {
  return asHttpError(err).toProblem();
}

/** Renders problem data as an `application/problem+json` response. */
export function problemResponse(problem: ProblemData, headers?: HeadersInit): Response {
  const response = new Response(JSON.stringify(problem), { status: problem.status, ...(headers ? { headers } : {}) });
  response.headers.set("Content-Type", "application/problem+json");
  return response;
}
