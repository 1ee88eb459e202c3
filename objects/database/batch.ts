/**
 * The shape of a `POST /batch` body, checked before anything runs: `{"ops": [...]}` with insert,
 * update and delete ops, written once as a valibot schema that gives both `BatchOp` and the check.
 * Shape problems are 400 naming the op; too many ops is 413. `runBatch` then runs the ops inside
 * the block's write transaction.
 */
import * as v from "valibot";
import { HttpError } from "../../shared/errors";
import { fields, present } from "../../shared/wire-shape";
import type { TableRuntime } from "./schema";
import { type WriteSession, atIndex, deleteOne, insertMany, updateOne } from "./writes";

const BATCH = 'A batch is {"ops": [{"op": "insert", "table": "...", "data": {...}}, ...]}.';
const TABLE = '"table" must name a table';
const IF_MATCH = '"ifMatch" must be an integer version';

const table = v.pipe(v.string(TABLE), v.minLength(1, TABLE));
/** An optional expected version, as the If-Match header on single writes; absent or `null` is none. Inserts ignore it. */
const ifMatch = v.nullish(v.pipe(v.number(IF_MATCH), v.safeInteger(IF_MATCH)), null);

function rowId(message: string) {
  return v.pipe(v.string(message), v.minLength(1, message));
}

const batchOp = v.variant(
  "op",
  [
    fields({ op: v.literal("insert"), table, ifMatch, data: present('an insert needs "data"') }),
    fields({ op: v.literal("update"), table, ifMatch, id: rowId('an update needs the row "id"'), data: present('an update needs "data"') }),
    fields({ op: v.literal("delete"), table, ifMatch, id: rowId('a delete needs the row "id"') }),
  ],
  // No path: not an object. A path into an array: still not an object (arrays have no "op").
  (issue) =>
    issue.path === undefined || Array.isArray(issue.path[0]?.input)
      ? "each op is an object"
      : '"op" must be "insert", "update" or "delete"',
);

/** One checked batch op. */
export type BatchOp = v.InferOutput<typeof batchOp>;

function batchSchema(maxOps: number) {
  return v.object(
    {
      ops: v.pipe(
        v.array(v.unknown(), BATCH),
        v.minLength(1, "The batch has no ops; send at least one."),
        // Counted before any op is checked: a body with too many ops is 413 whatever they hold.
        v.maxLength(maxOps, (issue) => `${issue.input.length} ops in one batch; the limit is ${maxOps}. Split the batch.`),
        v.array(batchOp),
      ),
    },
    BATCH,
  );
}

const schemas = new Map<number, ReturnType<typeof batchSchema>>();
const FIRST_ISSUE = { abortEarly: true } as const;

/** Validates a batch body into ops; throws 400 `INVALID_BATCH` naming the first bad op, or 413 `TOO_MANY_ROWS`. */
export function parseBatch(body: unknown, maxOps: number): BatchOp[] {
  let schema = schemas.get(maxOps);
  if (schema === undefined) schemas.set(maxOps, (schema = batchSchema(maxOps)));
  const result = v.safeParse(schema, body, FIRST_ISSUE);
  if (result.success) return result.output.ops;
  const issue = result.issues[0];
  const op = issue.path?.[1]; // [ops, index, ...]: a problem inside one op
  if (op !== undefined) throw new HttpError(400, "INVALID_BATCH", `ops[${String(op.key)}]: ${issue.message}`);
  if (issue.type === "max_length") throw new HttpError(413, "TOO_MANY_ROWS", issue.message);
  throw new HttpError(400, "INVALID_BATCH", issue.message);
}

/**
 * Runs a parsed batch inside the caller's write transaction, in order, and returns each op's result.
 * Consecutive inserts into one table go through insertMany together. An op's error names it
 * (`ops[i]`), and the whole batch is undone.
 */
export function runBatch(session: WriteSession, ops: readonly BatchOp[], runtimes: readonly TableRuntime[]): unknown[] {
  const results: unknown[] = [];
  let inserts: number[] = [];
  const flush = (): void => {
    if (inserts.length === 0) return;
    const indexes = inserts;
    inserts = [];
    const runtime = runtimes[indexes[0] as number] as TableRuntime;
    const items = indexes.map((i) => (ops[i] as BatchOp & { op: "insert" }).data);
    results.push(...insertMany(session, runtime, items, (j) => `ops[${indexes[j]}]`));
  };
  ops.forEach((op, i) => {
    if (op.op === "insert") {
      if (inserts.length > 0 && ops[inserts[0] as number]?.table !== op.table) flush();
      inserts.push(i);
      return;
    }
    flush();
    const runtime = runtimes[i] as TableRuntime;
    try {
      results.push(
        op.op === "update" ? updateOne(session, runtime, op.id, op.data, op.ifMatch) : deleteOne(session, runtime, op.id, op.ifMatch),
      );
    } catch (err) {
      throw atIndex(err, `ops[${i}]`);
    }
  });
  flush();
  return results;
}
