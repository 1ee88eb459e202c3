/**
 * The database routes. Routes with `:table` are described per declared table (one path each, with
 * that table's schemas and one filter parameter per column); the batch is described once.
 */
import type { ColumnType, ResolvedConfig } from "../../shared/config";
import { COMPARE_OPS, type CompareOp, MAX_OFFSET } from "../../shared/query";
import { jsonBody, jsonResponse, object, ref, schemaRef } from "./media";
import type { TableView } from "./table-schemas";
import type { OperationSpec, Parameter, Ref, Schema } from "./types";

/** An operation for one table name, given its view and the config. */
export type TableOperation = (table: TableView, config: ResolvedConfig) => OperationSpec;

const SEQ = { "X-Seq": ref("headers", "X-Seq") };
const READ_HEADERS = { ...SEQ, ETag: ref("headers", "ETag") };
const WRITE_HEADERS = { ...SEQ, "Idempotent-Replayed": ref("headers", "Idempotent-Replayed") };
const TAGS = ["database"] as const;
const READ_ERRORS = [400, 403, 404] as const;
const WRITE_ERRORS = [400, 403, 404, 409, 412, 413, 415, 422] as const;

/** The operators the grammar accepts on a column of each type (shared/query.ts). */
function operatorsFor(types: Set<ColumnType>): CompareOp[] {
  const allowed = new Set<CompareOp>(["is"]);
  for (const type of types) {
    if (type === "array") allowed.add("cs");
    if (type === "json" || type === "array") continue;
    for (const op of ["eq", "neq", "gt", "gte", "lt", "lte", "in"] as const) allowed.add(op);
    if (type === "string" || type === "text") {
      allowed.add("like");
      allowed.add("ilike");
    }
  }
  return COMPARE_OPS.filter((op) => allowed.has(op));
}

/** One query parameter per column: `<column>=<op>.<value>`, typed as a string for explorers. */
function filterParameters(table: TableView): Parameter[] {
  return [...table.columns].map(([column, types]) => ({
    name: column,
    in: "query",
    description: `Filter \`${column}=<op>.<value>\` with ${operatorsFor(types)
      .map((op) => `\`${op}\``)
      .join(" ")}; \`not.<op>\` negates. Types: ${[...types].join(", ")}.`,
    schema: { type: "string" },
  }));
}

const GROUP_PARAMETERS: Parameter[] = ["or", "and"].map((name) => ({
  name,
  in: "query",
  description: `Conditions joined by ${name.toUpperCase()}: \`${name}=(priority.gt.3,done.eq.true)\`; groups nest as and(...), or(...), not.and(...).`,
  schema: { type: "string", pattern: "^\\(.*\\)$" },
}));

/** The grammar's own parameters: select, order, limit, cursor, count, search (when the table has it). */
function listParameters(table: TableView, config: ResolvedConfig): Parameter[] {
  const params: Parameter[] = [
    { name: "select", in: "query", description: "Only these columns, comma-separated: `id,title`.", schema: { type: "string" } },
    {
      name: "order",
      in: "query",
      description: "Sort terms `column.asc|desc`, comma-separated (`priority.desc,createdAt.asc`); `id` is appended as the tie-breaker.",
      schema: { type: "string" },
    },
    {
      name: "limit",
      in: "query",
      description: "Page size.",
      schema: { type: "integer", minimum: 1, maximum: config.limits.maxPageSize, default: config.limits.defaultPageSize },
    },
    {
      name: "cursor",
      in: "query",
      description: "The previous page's nextCursor (opaque; only for the same query).",
      schema: { type: "string" },
    },
    {
      name: "offset",
      in: "query",
      description: "Rows to skip before the page, in the query's order; not with cursor.",
      schema: { type: "integer", minimum: 0, maximum: MAX_OFFSET },
    },
    {
      name: "count",
      in: "query",
      description: "`exact` adds `total`, the rows matching on all pages.",
      schema: { type: "string", enum: ["exact"] },
    },
  ];
  if (table.searchable) {
    params.push({
      name: "search",
      in: "query",
      description:
        "Full-text search on the table's search columns: plain words, all must match; `plan*` matches a prefix. Ranked unless `order` is given.",
      schema: { type: "string" },
    });
  }
  return params;
}

function page(table: TableView, extra: Record<string, Schema> = {}): Schema {
  return object(
    {
      items: { type: "array", items: table.row },
      nextCursor: { type: ["string", "null"], description: "Pass as cursor for the next page; null on the last." },
      seq: { type: "integer", description: "The block's seq this page observed." },
      total: { type: "integer", description: "With count=exact only." },
      ...extra,
    },
    ["items", "nextCursor", "seq"],
  );
}

/** The per-table operations, keyed by the route they expand. */
export const TABLE_OPERATIONS: Record<string, TableOperation> = {
  "GET /api/db/:block/tables/:table": (table, config) => ({
    operationId: `list_${table.name}`,
    summary: `List ${table.name}`,
    description:
      `A page of \`${table.name}\` rows matching the query grammar (docs/database.md): filters \`<column>=<op>.<value>\` ANDed, ` +
      "`or`/`and` groups, `order`, `limit`, keyset `cursor`, `select`, `count=exact`, `search`. The read rule's filter applies too.",
    tags: TAGS,
    access: "caller",
    parameters: [...listParameters(table, config), ...GROUP_PARAMETERS, ...filterParameters(table), ref("parameters", "IfNoneMatch")],
    responses: { "200": jsonResponse("A page of rows.", page(table), READ_HEADERS), "304": ref("responses", "NotModified") },
    errors: READ_ERRORS,
  }),
  "POST /api/db/:block/tables/:table": (table, config) => ({
    operationId: `insert_${table.name}`,
    summary: `Insert ${table.name}`,
    description: `Insert one row (object) or up to ${config.limits.maxRowsPerWrite} (array, all or none). \`?onConflict=<id or unique column>\` updates the row holding that value instead.`,
    tags: TAGS,
    access: "caller",
    parameters: [
      { name: "onConflict", in: "query", description: "Upsert on `id` or a unique column.", schema: { type: "string" } },
      ref("parameters", "IdempotencyKey"),
    ],
    requestBody: jsonBody({
      anyOf: [table.insert, { type: "array", items: table.insert, minItems: 1, maxItems: config.limits.maxRowsPerWrite }],
    }),
    responses: {
      "201": jsonResponse(
        "The row inserted, or `{items}` for an array.",
        { anyOf: [table.row, object({ items: { type: "array", items: table.row } }, ["items"])] },
        WRITE_HEADERS,
      ),
      "200": jsonResponse("An upsert updated the existing row.", table.row, WRITE_HEADERS),
    },
    errors: WRITE_ERRORS,
  }),
  "PATCH /api/db/:block/tables/:table": (table) => byFilter(table, "update"),
  "DELETE /api/db/:block/tables/:table": (table) => byFilter(table, "delete"),
  "GET /api/db/:block/tables/:table/:id": (table) => ({
    operationId: `get_${table.name}`,
    summary: `Get one ${table.name} row`,
    description: "A row the caller may not read is 404 ROW_NOT_FOUND, like a missing one.",
    tags: TAGS,
    access: "caller",
    parameters: [ref("parameters", "IfNoneMatch")],
    responses: { "200": jsonResponse("The row.", table.row, READ_HEADERS), "304": ref("responses", "NotModified") },
    errors: READ_ERRORS,
  }),
  "PATCH /api/db/:block/tables/:table/:id": (table) => ({
    operationId: `update_${table.name}`,
    summary: `Update one ${table.name} row`,
    description: 'Only the given columns change; `{"$inc": n}` adds to a number, `{"$append": item}` pushes onto an array.',
    tags: TAGS,
    access: "caller",
    parameters: [ref("parameters", "IfMatch"), ref("parameters", "IdempotencyKey")],
    requestBody: jsonBody(table.patch),
    responses: { "200": jsonResponse("The row after the update.", table.row, WRITE_HEADERS) },
    errors: WRITE_ERRORS,
  }),
  "DELETE /api/db/:block/tables/:table/:id": (table) => ({
    operationId: `delete_${table.name}`,
    summary: `Delete one ${table.name} row`,
    tags: TAGS,
    access: "caller",
    parameters: [ref("parameters", "IfMatch"), ref("parameters", "IdempotencyKey")],
    responses: { "200": jsonResponse("The row is gone.", schemaRef("Deleted"), WRITE_HEADERS) },
    errors: [...READ_ERRORS, 412],
  }),
};

/** PATCH or DELETE every matching row (API.md section 11): at least one filter, all or none. */
function byFilter(table: TableView, op: "update" | "delete"): OperationSpec {
  const parameters: (Parameter | Ref)[] = [...GROUP_PARAMETERS, ...filterParameters(table), ref("parameters", "IdempotencyKey")];
  return {
    operationId: `${op}_${table.name}_where`,
    summary: `${op === "update" ? "Update" : "Delete"} the ${table.name} rows a filter matches`,
    description:
      `Applies to every matching row the caller may ${op}, all or none, one change per row; filters only (order, limit, offset, cursor, ` +
      "select, count and search are 400), at least one filter (400 otherwise), at most maxRowsPerWrite rows (413 TOO_MANY_ROWS). " +
      "No match: 200 with count 0 and nothing written. If-Match is refused (400); filter on version instead.",
    tags: TAGS,
    access: "caller",
    parameters,
    ...(op === "update" ? { requestBody: jsonBody(table.patch) } : {}),
    responses: {
      "200": jsonResponse(
        `The rows ${op === "update" ? "after the update" : "deleted"}.`,
        object({ items: { type: "array", items: table.row }, count: { type: "integer" } }, ["items", "count"]),
        WRITE_HEADERS,
      ),
    },
    errors: WRITE_ERRORS,
  };
}

const BATCH_OP: Schema = {
  oneOf: [
    object({ op: { const: "insert" }, table: { type: "string" }, data: { type: "object" } }, ["op", "table", "data"]),
    object(
      {
        op: { const: "update" },
        table: { type: "string" },
        id: { type: "string" },
        data: { type: "object" },
        ifMatch: { type: "integer" },
      },
      ["op", "table", "id", "data"],
    ),
    object({ op: { const: "delete" }, table: { type: "string" }, id: { type: "string" }, ifMatch: { type: "integer" } }, [
      "op",
      "table",
      "id",
    ]),
  ],
};

/** The batch: ops over any tables of the block, one transaction. */
export function batchOperation(config: ResolvedConfig): OperationSpec {
  return {
    operationId: "batch",
    summary: "Run a batch of writes",
    description:
      "Insert, update and delete ops in order, in one transaction: all apply or none. Each op is checked against its table's rules.",
    tags: TAGS,
    access: "caller",
    parameters: [ref("parameters", "IdempotencyKey")],
    requestBody: jsonBody(object({ ops: { type: "array", items: BATCH_OP, maxItems: config.limits.maxRowsPerWrite } }, ["ops"])),
    responses: {
      "200": jsonResponse(
        "One result per op: the row, or `{id, deleted}`.",
        object({ results: { type: "array", items: { type: "object" } } }, ["results"]),
        WRITE_HEADERS,
      ),
    },
    errors: WRITE_ERRORS,
  };
}
