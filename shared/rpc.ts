import { type ProblemData, HttpError, asHttpError } from "./errors";

/**
 * The shape every actor RPC method returns. Thrown errors lose their status and code when they
 * cross an RPC boundary, so actors catch once and return the problem; the Worker unwraps once.
 */
export type RpcResult<T> = { ok: true; value: T } | { ok: false; problem: ProblemData; headers?: Record<string, string> };

/**
 * Runs an actor method body and captures an `HttpError` (or any error, as a 500) as a result.
 * `errorHeaders` adds headers to a failure (the DatabaseDO puts the block's `X-Seq` on errors too).
 */
export async function capture<T>(body: () => T | Promise<T>, errorHeaders?: () => Record<string, string>): Promise<RpcResult<T>> {
  try {
    return { ok: true, value: await body() };
  } catch (err) {
    if (!(err instanceof HttpError))
      console.error(JSON.stringify({ msg: "actor error", error: String(err), stack: (err as Error)?.stack }));
    const error = asHttpError(err);
    const headers = { ...error.headers, ...errorHeaders?.() };
    return { ok: false, problem: error.toProblem(), ...(Object.keys(headers).length > 0 ? { headers } : {}) };
  }
}

/**
 * Disposes an RPC result and returns it: until a result is disposed or garbage-collected, workerd
 * keeps the actor that answered alive, with its SQLite files open, and under load the collector
 * can lag by thousands of actors (a burst of new tenants ran out of memory that way).
 */
export function released<T>(result: T): T {
  (result as { [Symbol.dispose]?: () => void } | null)?.[Symbol.dispose]?.();
  return result;
}

/** Returns the value of an actor result (released) or throws the problem it carries as an `HttpError`. */
export function unwrap<T>(result: RpcResult<T>): T {
  released(result);
  if (result.ok) return result.value;
  throw HttpError.fromProblem(result.problem, result.headers);
}
