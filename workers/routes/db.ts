import { HttpError } from "../../shared/errors";

// Filled by the DatabaseDO issue.
const pending = (): never => {
  throw new HttpError(501, "NOT_IMPLEMENTED", "The database routes are not implemented yet.");
};
export const listRows = pending;
export const getRow = pending;
export const insertRows = pending;
export const updateRow = pending;
export const deleteRow = pending;
export const runBatch = pending;
