/**
 * The shape of a `POST /batch` body, checked before anything runs: `{"ops": [...]}` with insert,
 * update and delete ops. Shape problems are 400 naming the op; too many ops is 413.
 */
import { HttpError } from "../../shared/errors";

/** One checked batch op. `ifMatch` is an optional expected version, as the If-Match header on single writes. */
export type BatchOp =
  | { op: "insert"; table: string; data: unknown }
  | { op: "update"; table: string; id: string; data: unknown; ifMatch: number | null }
  | { op: "delete"; table: string; id: string; ifMatch: number | null };

/** Validates a batch body into ops. */
export function parseBatch(body: unknown, maxOps: number): BatchOp[] {
  const ops = (body as { ops?: unknown } | null)?.ops;
  if (body === null || typeof body !== "object" || Array.isArray(body) || !Array.isArray(ops)) {
    throw new HttpError(400, "INVALID_BATCH", 'A batch is {"ops": [{"op": "insert", "table": "...", "data": {...}}, ...]}.');
  }
  if (ops.length === 0) throw new HttpError(400, "INVALID_BATCH", "The batch has no ops; send at least one.");
  if (ops.length > maxOps) throw new HttpError(413, "TOO_MANY_ROWS", `${ops.length} ops in one batch; the limit is ${maxOps}. Split the batch.`);
  return ops.map((raw, i): BatchOp => {
    const bad = (why: string): HttpError => new HttpError(400, "INVALID_BATCH", `ops[${i}]: ${why}`);
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw bad("each op is an object");
    const op = raw as Record<string, unknown>;
    if (typeof op.table !== "string" || op.table === "") throw bad('"table" must name a table');
    const ifMatch = op.ifMatch === undefined || op.ifMatch === null ? null : op.ifMatch;
    if (ifMatch !== null && !Number.isSafeInteger(ifMatch)) throw bad('"ifMatch" must be an integer version');
    switch (op.op) {
      case "insert":
        if (op.data === undefined) throw bad('an insert needs "data"');
        return { op: "insert", table: op.table, data: op.data };
      case "update":
        if (typeof op.id !== "string" || op.id === "") throw bad('an update needs the row "id"');
        if (op.data === undefined) throw bad('an update needs "data"');
        return { op: "update", table: op.table, id: op.id, data: op.data, ifMatch: ifMatch as number | null };
      case "delete":
        if (typeof op.id !== "string" || op.id === "") throw bad('a delete needs the row "id"');
        return { op: "delete", table: op.table, id: op.id, ifMatch: ifMatch as number | null };
      default:
        throw bad('"op" must be "insert", "update" or "delete"');
    }
  });
}
