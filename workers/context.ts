import type { IRequest } from "itty-router";
import type { Block } from "../shared/block";
import type { Caller } from "../shared/caller";
import type { ErrorCode } from "../shared/error-codes";

/** What the middleware chain learns about a request, carried on itty's request object. */
export interface RequestState {
  /** The X-Request-Id echoed on the response and written to the log line. */
  id: string;
  /** The URL path, parsed once for every middleware that routes or logs by it. */
  path: string;
  /** `performance.now()`-style start time in ms (Date.now under workerd's coarse clock). */
  startedAt: number;
  caller?: Caller;
  block?: Block;
  /** Extra response headers set by middleware (rate-limit headers, for example); a response's own win. */
  responseHeaders: Record<string, string>;
  /** `Server-Timing` metrics middleware measured (`total` is added last). */
  timings: string[];
  /** The error the request ended with, for its log line: the problem's code and, for a 5xx, what was thrown. */
  failure?: { code: ErrorCode; cause?: string };
}

export type AppRequest = IRequest & { state: RequestState };

/** The Worker's arguments after the request: its environment and execution context. */
export type Args = [env: Env, ctx: ExecutionContext];

/** One step of a route: a middleware (answers nothing to go on) or the handler (answers the response). */
export type RouteStep = (request: AppRequest, env: Env, ctx: ExecutionContext) => Response | undefined | Promise<Response | undefined>;

/** Serializes a JSON response. */
export function json(body: unknown, status = 200, headers?: Record<string, string>): Response {
  return new Response(JSON.stringify(body), { status, headers: headers ? { ...headers, ...JSON_HEADERS } : JSON_HEADERS });
}

const JSON_HEADERS = { "Content-Type": "application/json; charset=utf-8" };
