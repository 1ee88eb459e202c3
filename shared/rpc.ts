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

/** Returns the value of an actor result or throws the problem it carries as an `HttpError`. */
export function unwrap<T>(result: RpcResult<T>): T {
  if (result.ok) return result.value;
  throw HttpError.fromProblem(result.problem, result.headers);
}
