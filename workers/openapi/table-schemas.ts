/**
 * The config's tables as JSON Schemas: per namespace and table, the row as stored
 * (`<namespace>.<table>`), what an insert takes (`.insert`) and what a PATCH takes (`.patch`).
 * A table name declared in several namespaces shares one path, whose schemas are `anyOf` them.
 */
import { type ColumnConfig, type ColumnType, type ResolvedConfig, SYSTEM_COLUMNS } from "../../shared/config";
import { object, schemaRef } from "./media";
import type { Schema } from "./types";

/** One table name as the document sees it: the namespaces that declare it and its schemas. */
export interface TableView {
  name: string;
  namespaces: string[];
  /** Every column a filter may name (system columns first), with the types its namespaces give it. */
  columns: Map<string, Set<ColumnType>>;
  /** Some declaring namespace has full-text search on it. */
  searchable: boolean;
  row: Schema;
  insert: Schema;
  patch: Schema;
}

const SYSTEM_TYPES: Record<(typeof SYSTEM_COLUMNS)[number], ColumnType> = {
  id: "string",
  createdAt: "integer",
  updatedAt: "integer",
  version: "integer",
};

const SYSTEM_SCHEMAS: Record<string, Schema> = {
  id: { type: "string", description: "Client-supplied on insert, or generated (26 characters, sortable by creation time)." },
  createdAt: { type: "integer", description: "ms since the epoch; set by the server." },
  updatedAt: { type: "integer", description: "ms since the epoch; set by the server." },
  version: { type: "integer", minimum: 1, description: "1 on insert, +1 per update; send it as If-Match." },
};

/** The schema of one column's value, without null. */
function valueSchema(spec: ColumnConfig): Schema {
  const schema: Schema = {};
  switch (spec.type) {
    case "string":
    case "text":
      schema.type = "string";
      if (spec.maxLength !== undefined) schema.maxLength = spec.maxLength;
      if (spec.enum) schema.enum = [...spec.enum];
      break;
    case "integer":
    case "number":
      schema.type = spec.type;
      if (spec.min !== undefined) schema.minimum = spec.min;
      if (spec.max !== undefined) schema.maximum = spec.max;
      break;
    case "boolean":
      schema.type = "boolean";
      break;
    case "array":
      schema.type = "array";
      if (spec.maxLength !== undefined) schema.maxItems = spec.maxLength;
      break;
    case "json":
      schema.description = "Any JSON value.";
      break;
  }
  return schema;
}

/** A column's schema in a row: null allowed unless the column is required; its default noted. */
function columnSchema(spec: ColumnConfig, options: { withDefault: boolean }): Schema {
  const schema = valueSchema(spec);
  if (!spec.required && typeof schema.type === "string") {
    schema.type = [schema.type, "null"];
    if (Array.isArray(schema.enum)) schema.enum = [...schema.enum, null];
  }
  if (options.withDefault && spec.default !== undefined) schema.default = spec.default;
  if (spec.unique) schema.description = "Unique in the block (usable as ?onConflict=).";
  return schema;
}

/** A PATCH value: a plain value, or `{"$inc": n}` on numbers and `{"$append": item}` on arrays. */
function patchSchema(spec: ColumnConfig): Schema {
  const plain = columnSchema(spec, { withDefault: false });
  if (spec.type === "integer" || spec.type === "number") {
    return { anyOf: [plain, object({ $inc: { type: "number" } }, ["$inc"], { additionalProperties: false })] };
  }
  if (spec.type === "array") return { anyOf: [plain, object({ $append: {} }, ["$append"], { additionalProperties: false })] };
  return plain;
}

/** Component names of a namespace's table: the row, its insert and its patch. */
export function tableSchemaNames(namespace: string, table: string): { row: string; insert: string; patch: string } {
  const base = `${namespace}.${table}`;
  return { row: base, insert: `${base}.insert`, patch: `${base}.patch` };
}

/** Every table's three schemas, keyed by `<namespace>.<table>[.insert|.patch]`. */
export function tableSchemas(config: ResolvedConfig): Record<string, Schema> {
  const schemas: Record<string, Schema> = {};
  for (const [namespace, ns] of Object.entries(config.namespaces)) {
    for (const [table, spec] of Object.entries(ns.tables)) {
      const names = tableSchemaNames(namespace, table);
      const columns = Object.entries(spec.columns);
      const declared = (make: (column: ColumnConfig) => Schema) => Object.fromEntries(columns.map(([name, c]) => [name, make(c)]));
      schemas[names.row] = object(
        { ...SYSTEM_SCHEMAS, ...declared((c) => columnSchema(c, { withDefault: true })) },
        [...SYSTEM_COLUMNS, ...columns.map(([name]) => name)],
        { description: `A row of "${table}" in namespace "${namespace}". With ?select= only the named columns are present.` },
      );
      schemas[names.insert] = object(
        { id: { type: "string", pattern: "^[A-Za-z0-9_.-]{1,128}$" }, ...declared((c) => columnSchema(c, { withDefault: true })) },
        columns.filter(([, c]) => c.required && c.default === undefined).map(([name]) => name),
        {
          additionalProperties: false,
          description: `A new row of "${table}" in "${namespace}"; left-out columns get their default, else null.`,
        },
      );
      schemas[names.patch] = object(declared(patchSchema), [], {
        additionalProperties: false,
        description: `The columns of "${table}" in "${namespace}" to change; system columns cannot be written.`,
      });
    }
  }
  return schemas;
}

/** The table names of the config, each with the namespaces that declare it, in declaration order. */
export function tableViews(config: ResolvedConfig): TableView[] {
  const views = new Map<string, TableView>();
  for (const [namespace, ns] of Object.entries(config.namespaces)) {
    for (const [table, spec] of Object.entries(ns.tables)) {
      let view = views.get(table);
      if (!view) {
        const columns = new Map<string, Set<ColumnType>>(SYSTEM_COLUMNS.map((c) => [c, new Set([SYSTEM_TYPES[c]])]));
        view = { name: table, namespaces: [], columns, searchable: false, row: {}, insert: {}, patch: {} };
        views.set(table, view);
      }
      view.namespaces.push(namespace);
      view.searchable ||= (spec.search ?? []).length > 0;
      for (const [column, c] of Object.entries(spec.columns)) {
        const types = view.columns.get(column) ?? new Set<ColumnType>();
        types.add(c.type);
        view.columns.set(column, types);
      }
    }
  }
  for (const view of views.values()) {
    const pick = (kind: "row" | "insert" | "patch"): Schema => {
      const refs = view.namespaces.map((ns) => schemaRef(tableSchemaNames(ns, view.name)[kind]));
      return refs.length === 1 ? (refs[0] as Schema) : { anyOf: refs };
    };
    view.row = pick("row");
    view.insert = pick("insert");
    view.patch = pick("patch");
  }
  return [...views.values()];
}
