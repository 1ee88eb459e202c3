import { env } from "cloudflare:workers";
import { abortAllDurableObjects, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { TableConfig } from "../shared/config";
import { parseListQuery } from "../shared/query";
import { listRows } from "../objects/database/reads";
import { prepareTable } from "../objects/database/schema";
import { databaseFor } from "../objects/database/contract";
import { SERVICE, call, jsonInit } from "./helpers/http";

const LIMITS = { maxFilterDepth: 8, maxFilterLength: 4096, maxPageSize: 1000, defaultPageSize: 50 };
const V1: TableConfig = { columns: { name: { type: "string", required: true }, size: { type: "integer" } } };
const V2: TableConfig = {
  columns: { ...V1.columns, rank: { type: "integer", default: 7 }, flag: { type: "boolean", default: true }, note: { type: "text" } },
  indexes: [{ columns: ["rank"] }],
  search: ["name", "note"],
};

describe("schema migrations", () => {
  it("applies additive changes once across a restart and refuses destructive ones, naming table and column", async () => {
    const actor = () => env.DATABASE.get(env.DATABASE.idFromName("schema-migrate"));
    await runInDurableObject(actor(), (_instance, state) => {
      const table = prepareTable(state.storage, "items", V1);
      state.storage.sql.exec(table.insertSql, "i1", 1, 1, 1, "walnut table", 3);
    });
    await abortAllDurableObjects();
    await runInDurableObject(actor(), (_instance, state) => {
      const table = prepareTable(state.storage, "items", V2);
      const page = listRows(state.storage.sql, table, parseListQuery("search=walnut", table.columns, LIMITS), null);
      expect(page.items).toEqual([
        { id: "i1", createdAt: 1, updatedAt: 1, version: 1, name: "walnut table", size: 3, rank: 7, flag: true, note: null },
      ]);
      // A second prepare in the same shape changes nothing.
      prepareTable(state.storage, "items", V2);
      const migrations = state.storage.sql
        .exec<{ change: string }>(`SELECT change FROM _migrations WHERE tbl = 'items' ORDER BY id`)
        .toArray()
        .map((m) => m.change);
      expect(migrations).toEqual([
        "create table with columns name, size",
        "add column rank; add column flag; add column note; add index i:rank; search on name, note",
      ]);
      const indexes = state.storage.sql
        .exec<{ name: string }>(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'items'`)
        .toArray()
        .map((i) => i.name);
      expect(indexes).toContain("_ix_items_i_rank");
    });
    await abortAllDurableObjects();
    await runInDurableObject(actor(), (_instance, state) => {
      const dropped: TableConfig = {
        columns: { name: { type: "string" }, rank: { type: "integer" }, flag: { type: "boolean" }, note: { type: "text" } },
      };
      expect(() => prepareTable(state.storage, "items", dropped)).toThrow(
        /Table "items": column "size" exists in the database but is no longer in the config/,
      );
      const retyped: TableConfig = { columns: { ...V2.columns, size: { type: "string" } } };
      expect(() => prepareTable(state.storage, "items", retyped)).toThrow(
        /Table "items": column "size" changes type from integer to string/,
      );
      const row = state.storage.sql.exec(`SELECT name, size FROM items`).one();
      expect(row).toEqual({ name: "walnut table", size: 3 });
    });
  });

  it("answers 500 SCHEMA_CHANGE_REFUSED naming table and column when the database holds a column the config dropped", async () => {
    const block = "user:refused1";
    await call(`/api/db/${block}/tables/notes`, jsonInit("POST", { title: "kept" }, SERVICE));
    // Pretend an earlier config had a column "legacy": the block records it, the shipped config no longer has it.
    await runInDurableObject(env.DATABASE.get(env.DATABASE.idFromName(block)), (_instance, state) => {
      const row = state.storage.sql.exec<{ spec: string }>(`SELECT spec FROM _tables WHERE name = 'notes'`).one();
      const spec = JSON.parse(row.spec) as { columns: Record<string, string> };
      spec.columns.legacy = "string";
      state.storage.sql.exec(`ALTER TABLE notes ADD COLUMN legacy TEXT`);
      state.storage.sql.exec(`UPDATE _tables SET spec = ? WHERE name = 'notes'`, JSON.stringify(spec));
    });
    await abortAllDurableObjects();
    const response = await call(`/api/db/${block}/tables/notes`, { headers: SERVICE });
    expect(response.status).toBe(500);
    const body = (await response.json()) as { code: string; detail: string };
    expect(body.code).toBe("SCHEMA_CHANGE_REFUSED");
    expect(body.detail).toContain('Table "notes": column "legacy"');
    const write = await call(`/api/db/${block}/tables/notes`, jsonInit("POST", { title: "no" }, SERVICE));
    expect(write.status).toBe(500);
    await runInDurableObject(env.DATABASE.get(env.DATABASE.idFromName(block)), (_instance, state) => {
      expect(state.storage.sql.exec(`SELECT title FROM notes`).toArray()).toEqual([{ title: "kept" }]);
    });
  });

  it("keeps rows and the seq counter across an actor restart", async () => {
    const block = "user:restart1";
    await call(`/api/db/${block}/tables/notes`, jsonInit("POST", [{ title: "a" }, { title: "b" }], SERVICE));
    await abortAllDurableObjects();
    const next = await call(`/api/db/${block}/tables/notes`, jsonInit("POST", { title: "c" }, SERVICE));
    expect(next.headers.get("X-Seq")).toBe("3");
    const list = (await (await call(`/api/db/${block}/tables/notes`, { headers: SERVICE })).json()) as {
      items: { title: string }[];
      seq: number;
    };
    expect(list.items.map((r) => r.title)).toEqual(["a", "b", "c"]);
    expect(list.seq).toBe(3);
    expect((await databaseFor(env, block).changesSince(0)).changes.map((c) => c.seq)).toEqual([1, 2, 3]);
  });

  it("creates tables lazily: a block's first read answers an empty page", async () => {
    const response = await call("/api/db/user:lazy1/tables/notes", { headers: SERVICE });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ items: [], nextCursor: null, seq: 0 });
  });
});

describe("schema migrations onto existing data", () => {
  it("refuses a new unique index the stored rows violate with SCHEMA_CHANGE_REFUSED naming table and column, applying nothing", async () => {
    const actor = env.DATABASE.get(env.DATABASE.idFromName("schema-unique-dupes"));
    await runInDurableObject(actor, (_instance, state) => {
      const table = prepareTable(state.storage, "people", { columns: { email: { type: "string" } } });
      state.storage.sql.exec(table.insertSql, "p1", 1, 1, 1, "a@x");
      state.storage.sql.exec(table.insertSql, "p2", 1, 1, 1, "a@x");
      const next: TableConfig = { columns: { email: { type: "string", unique: true }, nick: { type: "string" } } };
      let refused: unknown;
      try {
        prepareTable(state.storage, "people", next);
      } catch (err) {
        refused = err;
      }
      expect(refused).toMatchObject({ status: 500, code: "SCHEMA_CHANGE_REFUSED" });
      expect((refused as Error & { detail: string }).detail).toMatch(/"people".*"email"/);
      const columns = state.storage.sql
        .exec<{ name: string }>(`SELECT name FROM pragma_table_info('people')`)
        .toArray()
        .map((c) => c.name);
      expect(columns).not.toContain("nick");
    });
  });
});
