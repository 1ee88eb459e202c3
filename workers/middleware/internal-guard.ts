import { HttpError } from "../../shared/errors";
import type { AppRequest } from "../context";

/** `/internal/*` exists only between the Worker and its actors; from outside it does not exist. */
export function internalGuard(request: AppRequest): void {
  const path = request.state.path;
  if (path === "/internal" || path.startsWith("/internal/")) throw new HttpError(404, "NOT_FOUND", "No route matches this path.");
}
