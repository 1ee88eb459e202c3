import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { databaseFor } from "../objects/database/contract";
import { SERVICE, call, jsonInit, problem } from "./helpers/http";

type Row = Record<string, unknown> & { id: string; version: number };

async function insert(block: string, data: unknown, headers: Record<string, string> = SERVICE, table = "notes"): Promise<Response> {
  return call(`/api/db/${block}/tables/${table}`, jsonInit("POST", data, headers));
}

describe("POST /api/db/:block/tables/:table", () => {
  it("inserts one row with defaults and system columns and answers 201 with the row and X-Seq", async () => {
    const response = await insert("user:crud1", { title: "first" });
    expect(response.status).toBe(201);
    expect(response.headers.get("X-Seq")).toBe("1");
    const row = (await response.json()) as Row;
    expect(row).toMatchObject({ title: "first", body: null, done: false, priority: 0, tags: null, version: 1 });
    expect(row.id).toMatch(/^[0-9A-Z]{26}$/);
    expect(row.createdAt).toBe(row.updatedAt);
    const fetched = await call(`/api/db/user:crud1/tables/notes/${row.id}`, { headers: SERVICE });
    expect(fetched.status).toBe(200);
    expect(await fetched.json()).toEqual(row);
  });

  it("inserts many rows from an array, all or none", async () => {
    const ok = await insert("user:crud2", [{ title: "a" }, { title: "b", priority: 2 }]);
    expect(ok.status).toBe(201);
    const { items } = (await ok.json()) as { items: Row[] };
    expect(items.map((r) => r.title)).toEqual(["a", "b"]);
    const bad = await insert("user:crud2", [{ title: "c" }, { priority: 1 }]);
    expect(bad.status).toBe(422);
    expect(await problem(bad)).toMatchObject({ code: "VALIDATION_FAILED", errors: { "items[1].title": "is required" } });
    const list = (await (await call("/api/db/user:crud2/tables/notes", { headers: SERVICE })).json()) as { items: Row[] };
    expect(list.items.map((r) => r.title)).toEqual(["a", "b"]);
  });

  it("stores the same values through the many-row path as through the one-row path", async () => {
    const data = { title: 'typed ✓ "q"', body: "line\nbreak", done: true, priority: -7, tags: ["a", 1, true, null, { k: [1.5] }] };
    const one = (await (await insert("user:crud7", { ...data, id: "one" })).json()) as Row;
    const many = (await (
      await insert("user:crud7", [
        { ...data, id: "many" },
        { title: "nulls", done: false, tags: [] },
      ])
    ).json()) as { items: Row[] };
    const stored = (await (await call("/api/db/user:crud7/tables/notes?order=id.asc", { headers: SERVICE })).json()) as { items: Row[] };
    const strip = (row: Row | undefined) => ({ ...row, id: undefined, createdAt: undefined, updatedAt: undefined });
    expect(strip(stored.items.find((r) => r.id === "many"))).toEqual(strip(one));
    expect(stored.items.find((r) => r.id === "many")).toEqual(many.items[0]);
    expect(stored.items.find((r) => r.title === "nulls")).toMatchObject({ body: null, done: false, priority: 0, tags: [] });
  });

  it("answers 409 naming the item when a many-row insert repeats an id, and writes none of it", async () => {
    await insert("user:crud8", { id: "taken", title: "first" });
    const rows = Array.from({ length: 600 }, (_, i) => ({ id: i === 550 ? "taken" : `n${i}`, title: `row ${i}` }));
    const response = await insert("user:crud8", rows);
    expect(response.status).toBe(409);
    expect((await problem(response)).detail).toMatch(/^items\[550\]:/);
    const list = (await (await call("/api/db/user:crud8/tables/notes", { headers: SERVICE })).json()) as { items: Row[]; seq: number };
    expect(list.items.map((r) => r.id)).toEqual(["taken"]);
    expect(list.seq).toBe(1);
  });

  it("refuses system columns, unknown columns and bad values with 422 per field", async () => {
    const response = await insert("user:crud3", { title: 5, createdAt: 1, version: 9, nope: true, done: "yes" });
    expect(response.status).toBe(422);
    const body = await problem(response);
    expect(body.errors).toEqual({
      title: "must be a string",
      createdAt: "is set by the server and cannot be written",
      version: "is set by the server and cannot be written",
      nope: "is not a column of this table",
      done: "must be true or false",
    });
  });

  it("accepts a client id and answers 409 when it is taken, unless onConflict=id upserts", async () => {
    expect((await insert("user:crud4", { id: "n1", title: "one" })).status).toBe(201);
    const dup = await insert("user:crud4", { id: "n1", title: "two" });
    expect(dup.status).toBe(409);
    const conflict = await problem(dup);
    expect(conflict).toMatchObject({ code: "UNIQUE_CONFLICT", errors: { id: "already exists" } });
    expect(conflict.detail).toContain("?onConflict=id to update it");
    const many = await call(
      "/api/db/user:crud4/tables/notes",
      jsonInit(
        "POST",
        [
          { id: "n2", title: "a" },
          { id: "n1", title: "b" },
        ],
        SERVICE,
      ),
    );
    expect(many.status).toBe(409);
    expect((await problem(many)).errors).toEqual({ "items[1].id": "already exists" });
    const upsert = await call("/api/db/user:crud4/tables/notes?onConflict=id", jsonInit("POST", { id: "n1", title: "two" }, SERVICE));
    expect(upsert.status).toBe(200);
    expect(await upsert.json()).toMatchObject({ id: "n1", title: "two", version: 2 });
    const badKey = await call("/api/db/user:crud4/tables/notes?onConflict=title", jsonInit("POST", { title: "x" }, SERVICE));
    expect(badKey.status).toBe(400);
  });

  it("answers 415 for a non-JSON body and 400 for malformed JSON", async () => {
    const wrongType = await call("/api/db/user:crud5/tables/notes", {
      method: "POST",
      body: "title=x",
      headers: { ...SERVICE, "Content-Type": "text/plain" },
    });
    expect(wrongType.status).toBe(415);
    const malformed = await call("/api/db/user:crud5/tables/notes", {
      method: "POST",
      body: "{",
      headers: { ...SERVICE, "Content-Type": "application/json" },
    });
    expect(malformed.status).toBe(400);
  });

  it("answers 404 for an undeclared table and 404 for an unknown namespace", async () => {
    expect((await insert("user:crud6", { title: "x" }, SERVICE, "nope")).status).toBe(404);
    expect((await insert("nope:x", { title: "x" })).status).toBe(404);
  });
});

describe("PATCH and DELETE /api/db/:block/tables/:table/:id", () => {
  it("updates given columns, bumps version by exactly 1 and applies $inc and $append", async () => {
    const row = (await (await insert("user:upd1", { title: "t", priority: 1, tags: ["a"] })).json()) as Row;
    const response = await call(
      `/api/db/user:upd1/tables/notes/${row.id}`,
      jsonInit("PATCH", { priority: { $inc: 2 }, tags: { $append: "b" }, done: true }, SERVICE),
    );
    expect(response.status).toBe(200);
    const updated = (await response.json()) as Row;
    expect(updated).toMatchObject({ title: "t", priority: 3, tags: ["a", "b"], done: true, version: 2, createdAt: row.createdAt });
    expect(response.headers.get("X-Seq")).toBe("2");
  });

  it("answers 412 when If-Match names another version and applies the write when it matches", async () => {
    const row = (await (await insert("user:upd2", { title: "t" })).json()) as Row;
    const stale = await call(
      `/api/db/user:upd2/tables/notes/${row.id}`,
      jsonInit("PATCH", { title: "u" }, { ...SERVICE, "If-Match": '"7"' }),
    );
    expect(stale.status).toBe(412);
    const fresh = await call(
      `/api/db/user:upd2/tables/notes/${row.id}`,
      jsonInit("PATCH", { title: "u" }, { ...SERVICE, "If-Match": '"1"' }),
    );
    expect(fresh.status).toBe(200);
    const del = await call(`/api/db/user:upd2/tables/notes/${row.id}`, { method: "DELETE", headers: { ...SERVICE, "If-Match": '"1"' } });
    expect(del.status).toBe(412);
  });

  it("deletes a row, answers {id, deleted: true}, and the row is gone", async () => {
    const row = (await (await insert("user:del1", { title: "t" })).json()) as Row;
    const response = await call(`/api/db/user:del1/tables/notes/${row.id}`, { method: "DELETE", headers: SERVICE });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ id: row.id, deleted: true });
    expect((await call(`/api/db/user:del1/tables/notes/${row.id}`, { headers: SERVICE })).status).toBe(404);
    expect((await call(`/api/db/user:del1/tables/notes/${row.id}`, { method: "DELETE", headers: SERVICE })).status).toBe(404);
  });

  it("refuses writing system columns or changing the id in a PATCH with 422", async () => {
    const row = (await (await insert("user:upd3", { title: "t" })).json()) as Row;
    const response = await call(
      `/api/db/user:upd3/tables/notes/${row.id}`,
      jsonInit("PATCH", { version: 10, id: "other", priority: { $append: 1 } }, SERVICE),
    );
    expect(response.status).toBe(422);
    expect((await problem(response)).errors).toEqual({
      version: "is set by the server and cannot be written",
      id: "cannot be changed",
      priority: "$append applies to array columns only",
    });
  });
});

describe("DatabaseDO.changesSince", () => {
  it("returns every committed write in seq order with row and old row", async () => {
    const row = (await (await insert("user:log1", { title: "a" })).json()) as Row;
    await call(`/api/db/user:log1/tables/notes/${row.id}`, jsonInit("PATCH", { title: "b" }, SERVICE));
    await call(`/api/db/user:log1/tables/notes/${row.id}`, { method: "DELETE", headers: SERVICE });
    const stub = databaseFor(env, "user:log1");
    const page = await stub.changesSince(0);
    expect(page.seq).toBe(3);
    expect(page.oldestSeq).toBe(1);
    expect(page.changes.map((c) => [c.seq, c.op, c.table, c.id])).toEqual([
      [1, "insert", "notes", row.id],
      [2, "update", "notes", row.id],
      [3, "delete", "notes", row.id],
    ]);
    expect(page.changes[1]?.old).toMatchObject({ title: "a" });
    expect(page.changes[1]?.row).toMatchObject({ title: "b", version: 2 });
    expect((await stub.changesSince(2)).changes.map((c) => c.seq)).toEqual([3]);
  });
});

describe("X-Seq on errors", () => {
  it("carries the block's seq on problems answered by the actor", async () => {
    await insert("user:seqerr", { title: "one" });
    await insert("user:seqerr", { title: "two" });
    const missing = await call("/api/db/user:seqerr/tables/notes/nope", { headers: SERVICE });
    expect(missing.status).toBe(404);
    expect(missing.headers.get("X-Seq")).toBe("2");
    const invalid = await insert("user:seqerr", { title: 42 });
    expect(invalid.status).toBe(422);
    expect(invalid.headers.get("X-Seq")).toBe("2");
    const badQuery = await call("/api/db/user:seqerr/tables/notes?nosuch=eq.1", { headers: SERVICE });
    expect(badQuery.status).toBe(400);
    expect(badQuery.headers.get("X-Seq")).toBe("2");
  });
});
