import { HttpError } from "../../shared/errors";

// Filled by the RateLimiterDO issue.
const pending = (): never => {
  throw new HttpError(501, "NOT_IMPLEMENTED", "The rate-limit API is not implemented yet.");
};
export const decide = pending;
export const peek = pending;
export const reset = pending;
