/**
 * The PostgREST-compatible routes under `/api/rest/<block>/<table>` (docs/postgrest.md), described
 * briefly, once per table: PostgREST clients discover tables their own way, so the parameters here
 * are the wire protocol's, not a schema per column. `/rest/v1/*` is outside `/api/` and not listed.
 */
import { emptyResponse, jsonBody, jsonResponse, ref } from "./media";
import type { TableOperation } from "./operations-db";
import type { TableView } from "./table-schemas";
import type { OperationSpec, Parameter } from "./types";

const TAGS = ["database"] as const;
const DOC =
  "PostgREST wire protocol (docs/postgrest.md); errors carry PostgREST's code, message, details and hint beside the problem fields.";
const SEQ = { "X-Seq": ref("headers", "X-Seq") };
const RANGE = { "Content-Range": { description: "`<from>-<to>/<total or *>`.", schema: { type: "string" } } };

const header = (name: string, description: string): Parameter => ({ name, in: "header", description, schema: { type: "string" } });
const query = (name: string, description: string): Parameter => ({ name, in: "query", description, schema: { type: "string" } });
const PREFER = header("Prefer", "`return=minimal|representation`, `count=exact`, `resolution=merge-duplicates|ignore-duplicates`.");
const ACCEPT = header("Accept", "`application/vnd.pgrst.object+json` for one object (406 PGRST116 unless exactly one row).");
const FILTERS =
  "Filters: `<column>=[not.]<op>.<value>` (eq neq gt gte lt lte like ilike in is cs fts plfts phfts wfts), `or=(...)`, `and=(...)`.";
const SELECT = query("select", "`*` or a column list (`alias:column`); no embedding.");

function rows(table: TableView) {
  return { anyOf: [{ type: "array", items: table.row }, table.row] };
}

function read(table: TableView, head: boolean): OperationSpec {
  return {
    operationId: `${head ? "rest_head" : "rest_list"}_${table.name}`,
    summary: `${head ? "Count" : "List"} ${table.name} (PostgREST)`,
    description: `${DOC} ${FILTERS}`,
    tags: TAGS,
    access: "caller",
    parameters: [
      SELECT,
      query("order", "`<column>.<asc|desc>[.nullsfirst|.nullslast]`, comma separated."),
      query("limit", "Rows, at most the configured page size."),
      query("offset", "Rows to skip."),
      header("Range", "`<from>-<to>`, when limit/offset are not given."),
      PREFER,
      ACCEPT,
    ],
    responses: {
      "200": head
        ? emptyResponse("The headers of the list.", { ...SEQ, ...RANGE })
        : jsonResponse("The rows.", rows(table), { ...SEQ, ...RANGE }),
    },
    errors: [400, 403, 404, 406],
  };
}

function write(table: TableView, op: "insert" | "update" | "delete"): OperationSpec {
  const parameters: Parameter[] =
    op === "insert"
      ? [
          query("columns", "The keys of each row to insert."),
          query("on_conflict", "The upsert's column (default id)."),
          SELECT,
          PREFER,
          ACCEPT,
        ]
      : [SELECT, PREFER, ACCEPT];
  return {
    operationId: `rest_${op}_${table.name}`,
    summary: `${op[0]?.toUpperCase()}${op.slice(1)} ${table.name} (PostgREST)`,
    description: `${DOC} ${op === "insert" ? "An object or an array." : `Every matching row; at least one filter. ${FILTERS}`}`,
    tags: TAGS,
    access: "caller",
    parameters: [...parameters, ref("parameters", "IdempotencyKey")],
    ...(op === "delete"
      ? {}
      : { requestBody: jsonBody(op === "insert" ? { anyOf: [table.insert, { type: "array", items: table.insert }] } : table.patch) }),
    responses: {
      [op === "insert" ? "201" : "200"]: jsonResponse(
        "The rows with Prefer: return=representation; no body with return=minimal.",
        rows(table),
        SEQ,
      ),
      ...(op === "insert" ? {} : { "204": emptyResponse("Done (return=minimal, the default).", SEQ) }),
    },
    errors: [400, 403, 404, 406, 409, 413, 415, 422],
  };
}

/** The PostgREST operations, per table, keyed by `METHOD /path` like TABLE_OPERATIONS. */
export const REST_TABLE_OPERATIONS: Record<string, TableOperation> = {
  "GET /api/rest/:block/:table": (table) => read(table, false),
  "HEAD /api/rest/:block/:table": (table) => read(table, true),
  "POST /api/rest/:block/:table": (table) => write(table, "insert"),
  "PATCH /api/rest/:block/:table": (table) => write(table, "update"),
  "DELETE /api/rest/:block/:table": (table) => write(table, "delete"),
};
