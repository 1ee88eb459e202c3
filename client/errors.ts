import { type ClientErrorCode, isErrorCode } from "../shared/error-codes";

export type { ClientErrorCode, ErrorCode } from "../shared/error-codes";

/** The error every client call throws for a non-2xx answer: the server's problem details, typed. */
export class ActorbaseError extends Error {
  readonly status: number;
  /** Stable UPPER_SNAKE code to switch on (`VALIDATION_FAILED`, `FORBIDDEN`, ...): the server's closed list, see `ErrorCode`. */
  readonly code: ClientErrorCode;
  readonly detail: string;
  /** Per-field messages for validation errors. */
  readonly errors: Record<string, string> | undefined;

  constructor(status: number, code: ClientErrorCode, detail: string, errors?: Record<string, string>) {
    super(`${code}: ${detail}`);
    this.name = "ActorbaseError";
    this.status = status;
    this.code = code;
    this.detail = detail;
    this.errors = errors;
  }
}

/** Reads a failed response into an `ActorbaseError` (problem+json when the server sent one). */
export async function errorFrom(response: Response): Promise<ActorbaseError> {
  const text = await response.text();
  try {
    const problem = JSON.parse(text) as { code?: unknown; detail?: string; errors?: Record<string, string> };
    return new ActorbaseError(
      response.status,
      isErrorCode(problem.code) ? problem.code : "HTTP_ERROR",
      problem.detail ?? text,
      problem.errors,
    );
  } catch {
    return new ActorbaseError(response.status, "HTTP_ERROR", text || response.statusText);
  }
}
