import fc from "fast-check";
import type { TableConfig } from "../../shared/config";
import type { Filter, Needle, Scalar } from "../../shared/query";

/** Random rows and filter ASTs over a table with one column of each filterable type (property tests). */
export const TABLE: TableConfig = {
  columns: {
    s: { type: "string" },
    n: { type: "integer" },
    r: { type: "number" },
    b: { type: "boolean" },
    a: { type: "array" },
  },
};

const chars = fc.constantFrom("a", "A", "b", "B", "z", "%", "_", "\\", "?", "[", " ", "é", "É", "😀", "\uE000", "1");
const text = fc.string({ unit: chars, maxLength: 5 });
const pattern = fc.string({ unit: fc.oneof(chars, fc.constant("*")), maxLength: 5 });
const integer = fc.integer({ min: -3, max: 3 });
const real = fc.oneof(integer, fc.constantFrom(-1.5, 0.5, 2.25));
const needle: fc.Arbitrary<Needle> = fc.oneof(text, integer, fc.boolean());
const not = fc.boolean();

export const row = fc.record({
  s: fc.option(text, { nil: null }),
  n: fc.option(integer, { nil: null }),
  r: fc.option(real, { nil: null }),
  b: fc.option(fc.boolean(), { nil: null }),
  a: fc.option(fc.array(needle, { maxLength: 3 }), { nil: null }),
});

const ops = fc.constantFrom("eq", "neq", "gt", "gte", "lt", "lte") as fc.Arbitrary<"eq" | "neq" | "gt" | "gte" | "lt" | "lte">;
const leaf: fc.Arbitrary<Filter> = fc.oneof(
  fc.record({ kind: fc.constant("compare" as const), column: fc.constant("s"), op: ops, value: text as fc.Arbitrary<Scalar>, not }),
  fc.record({
    kind: fc.constant("compare" as const),
    column: fc.constant("s"),
    op: fc.constantFrom("like" as const, "ilike" as const),
    value: pattern as fc.Arbitrary<Scalar>,
    not,
  }),
  fc.record({
    kind: fc.constant("compare" as const),
    column: fc.constantFrom("n", "r"),
    op: ops,
    value: real as fc.Arbitrary<Scalar>,
    not,
  }),
  fc.record({
    kind: fc.constant("compare" as const),
    column: fc.constant("b"),
    op: ops,
    value: fc.constantFrom(0, 1) as fc.Arbitrary<Scalar>,
    not,
  }),
  fc.record({
    kind: fc.constant("in" as const),
    column: fc.constant("s"),
    values: fc.array(text as fc.Arbitrary<Scalar>, { minLength: 1, maxLength: 3 }),
    not,
  }),
  fc.record({
    kind: fc.constant("in" as const),
    column: fc.constantFrom("n", "r"),
    values: fc.array(real as fc.Arbitrary<Scalar>, { minLength: 1, maxLength: 3 }),
    not,
  }),
  fc.record({ kind: fc.constant("is" as const), column: fc.constantFrom("s", "n", "r", "a"), value: fc.constant(null), not }),
  fc.record({ kind: fc.constant("is" as const), column: fc.constant("b"), value: fc.constantFrom(null, 0 as const, 1 as const), not }),
  fc.record({ kind: fc.constant("contains" as const), column: fc.constant("a"), values: fc.array(needle, { maxLength: 2 }), not }),
);
export const filter: fc.Arbitrary<Filter> = fc.letrec<{ node: Filter }>((tie) => ({
  node: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    leaf,
    fc.record({
      kind: fc.constant("group" as const),
      op: fc.constantFrom("and" as const, "or" as const),
      items: fc.array(tie("node"), { minLength: 1, maxLength: 3 }),
      not,
    }),
  ),
})).node;
