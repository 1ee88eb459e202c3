import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Filter, parseFilter, parseListQuery, tableColumns } from "../shared/query";
import { TABLE, filter } from "./helpers/filters";

const columns = tableColumns(TABLE);
const LIMITS = { maxFilterDepth: 64, maxFilterLength: 1_000_000 };

/** Writes a filter back in the query grammar: the inverse the parser must honour. */
function serialize(node: Filter): string {
  const params = new URLSearchParams();
  if (node.kind === "group") params.append(`${node.not ? "not." : ""}${node.op}`, `(${node.items.map(inner).join(",")})`);
  else {
    const text = inner(node);
    const dot = text.indexOf(".");
    params.append(text.slice(0, dot), text.slice(dot + 1));
  }
  return params.toString();
}

function inner(node: Filter): string {
  const not = node.not ? "not." : "";
  switch (node.kind) {
    case "group":
      return `${not}${node.op}(${node.items.map(inner).join(",")})`;
    case "is":
      return `${node.column}.${not}is.${node.value === null ? "null" : node.value === 1 ? "true" : "false"}`;
    case "in":
      return `${node.column}.${not}in.(${node.values.map((v) => value(node.column, v)).join(",")})`;
    case "contains":
      return `${node.column}.${not}cs.${JSON.stringify(node.values)}`;
    case "compare":
      return `${node.column}.${not}${node.op}.${value(node.column, node.value)}`;
  }
}

function value(column: string, v: string | number): string {
  if (column === "b") return v === 1 ? "true" : "false";
  if (typeof v === "number") return String(v);
  return `"${v.replace(/["\\]/g, "\\$&")}"`;
}

describe("query grammar: parser", () => {
  it("reads back every filter written in the grammar", () => {
    fc.assert(
      fc.property(filter, (ast) => {
        expect(parseFilter(serialize(ast), columns, LIMITS)).toEqual(ast);
      }),
      { numRuns: 500 },
    );
  });

  it("ANDs top-level conditions and keeps list parameters out of the filter", () => {
    const query = parseListQuery("s=eq.x&n=gte.2&order=n.desc,s&limit=10&select=s,n&count=exact&search=hello", columns, {
      ...LIMITS,
      maxPageSize: 1000,
      defaultPageSize: 50,
    });
    expect(query).toEqual({
      filter: {
        kind: "group",
        op: "and",
        not: false,
        items: [
          { kind: "compare", column: "s", op: "eq", value: "x", not: false },
          { kind: "compare", column: "n", op: "gte", value: 2, not: false },
        ],
      },
      order: [
        { column: "n", direction: "desc" },
        { column: "s", direction: "asc" },
      ],
      limit: 10,
      cursor: null,
      select: ["s", "n"],
      count: true,
      search: "hello",
    });
  });

  it("refuses list parameters in a filter-only string", () => {
    expect(() => parseFilter("order=eq.1", columns)).toThrow(expect.objectContaining({ status: 400, code: "RESERVED_WORD" }));
    expect(() => parseFilter("limit=eq.1", columns)).toThrow(expect.objectContaining({ status: 400, code: "RESERVED_WORD" }));
  });
});
