import { HttpError } from "../../shared/errors";

// Filled by the RealtimeDO issue.
export const connectRealtime = (): never => {
  throw new HttpError(501, "NOT_IMPLEMENTED", "Realtime is not implemented yet.");
};
