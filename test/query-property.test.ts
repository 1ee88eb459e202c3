import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { TABLE, filter, row } from "./helpers/filters";
import { filterToPredicate } from "../shared/query-match";
import { filterToSql } from "../shared/query-sql";
import { encodeValue, prepareTable } from "../objects/database/schema";

// The property: for a table with one column of each filterable type, SQL and the predicate select the same rows.

describe("query grammar: SQL and predicate", () => {
  it("select the same rows for random filters over random rows", async () => {
    const stub = env.DATABASE.get(env.DATABASE.idFromName("query-property"));
    await runInDurableObject(stub, (_instance, state) => {
      const table = prepareTable(state.storage, "things", TABLE);
      const sql = state.storage.sql;
      fc.assert(
        fc.property(fc.array(row, { minLength: 1, maxLength: 12 }), fc.array(filter, { minLength: 1, maxLength: 6 }), (rows, filters) => {
          sql.exec(`DELETE FROM things`);
          rows.forEach((r, i) => {
            const values = table.declared.map((c) => encodeValue(TABLE.columns[c] as never, (r as Record<string, unknown>)[c]));
            sql.exec(table.insertSql, `r${i}`, 0, 0, 1, ...values);
          });
          const stored = sql
            .exec(`SELECT * FROM things ORDER BY id`)
            .toArray()
            .map((s) => table.decode(s));
          for (const f of filters) {
            const compiled = filterToSql(f);
            const bySql = sql
              .exec<{ id: string }>(`SELECT id FROM things WHERE ${compiled.sql} ORDER BY id`, ...compiled.params)
              .toArray()
              .map((x) => x.id);
            const predicate = filterToPredicate(f);
            const byPredicate = stored.filter(predicate).map((x) => x.id as string);
            expect(byPredicate, JSON.stringify(f)).toEqual(bySql);
          }
        }),
        { numRuns: 300 },
      );
    });
  });
});
