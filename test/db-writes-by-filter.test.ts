import { env, exports } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { TableRest } from "../client/rest";
import { databaseFor } from "../objects/database/contract";
import type { WriteSession } from "../objects/database/writes";
import type { Caller } from "../shared/caller";
import { defineConfig } from "../shared/config";
import { parseWriteFilter } from "../shared/query";
import { TEST_SECRETS } from "./env";
import { SERVICE, as, call, jsonInit, problem } from "./helpers/http";

type Row = Record<string, unknown> & { id: string; version: number };
type Where = { items: Row[]; count: number };

const NOTES = [
  { id: "a", title: "alpha", done: false, priority: 1, tags: ["x"] },
  { id: "b", title: "beta", done: true, priority: 2, tags: null },
  { id: "c", title: "gamma", done: false, priority: 3, tags: [] },
  { id: "d", title: "delta", done: true, priority: 4, tags: ["y"] },
  { id: "e", title: "epsilon", done: false, priority: 5, tags: null },
];

async function seed(block: string, rows: unknown[] = NOTES, table = "notes", headers: Record<string, string> = SERVICE): Promise<void> {
  const response = await call(`/api/db/${block}/tables/${table}`, jsonInit("POST", rows, headers));
  expect(response.status, await response.clone().text()).toBe(201);
}

async function rows(block: string, table = "notes", headers: Record<string, string> = SERVICE): Promise<Row[]> {
  const response = await call(`/api/db/${block}/tables/${table}?limit=1000`, { headers });
  return ((await response.json()) as { items: Row[] }).items;
}

function patch(block: string, query: string, body: unknown, headers: Record<string, string> = SERVICE, table = "notes"): Promise<Response> {
  return call(`/api/db/${block}/tables/${table}?${query}`, jsonInit("PATCH", body, headers));
}

function remove(block: string, query: string, headers: Record<string, string> = SERVICE, table = "notes"): Promise<Response> {
  return call(`/api/db/${block}/tables/${table}?${query}`, { method: "DELETE", headers });
}

describe("PATCH /api/db/:block/tables/:table?<filters>", () => {
  it("updates every matching row with field operations, one change per row, and answers {items, count}", async () => {
    const block = "user:wbf-update";
    await seed(block);
    const response = await patch(block, "done=eq.false", { priority: { $inc: 10 }, tags: { $append: "z" } });
    expect(response.status).toBe(200);
    expect(response.headers.get("X-Seq")).toBe("8");
    expect(response.headers.get("Server-Timing")).toMatch(/db;dur=/);
    const body = (await response.json()) as Where;
    expect(body.count).toBe(3);
    expect(body.items.map((r) => [r.id, r.priority, r.tags, r.version])).toEqual([
      ["a", 11, ["x", "z"], 2],
      ["c", 13, ["z"], 2],
      ["e", 15, ["z"], 2],
    ]);
    const after = await rows(block);
    expect(after.map((r) => [r.id, r.priority, r.version])).toEqual([
      ["a", 11, 2],
      ["b", 2, 1],
      ["c", 13, 2],
      ["d", 4, 1],
      ["e", 15, 2],
    ]);
    const log = await databaseFor(env, block).changesSince(5);
    expect(log.seq).toBe(8);
    expect(log.changes.map((c) => `${c.seq}:${c.op}:${c.id}:${c.old?.priority}->${c.row.priority}`)).toEqual([
      "6:update:a:1->11",
      "7:update:c:3->13",
      "8:update:e:5->15",
    ]);
  });

  it("takes or=(...) groups and not., and answers 200 with count 0 and the seq unchanged when nothing matches", async () => {
    const block = "user:wbf-groups";
    await seed(block);
    const grouped = await patch(block, "or=(priority.lte.1,and(done.eq.true,priority.gte.4))&title=not.eq.zzz", { done: true });
    expect(((await grouped.json()) as Where).items.map((r) => r.id)).toEqual(["a", "d"]);
    expect(grouped.headers.get("X-Seq")).toBe("7");
    const none = await patch(block, "priority=gt.100", { done: false });
    expect(none.status).toBe(200);
    expect(await none.json()).toEqual({ items: [], count: 0 });
    expect(none.headers.get("X-Seq")).toBe("7");
    const deleteNone = await remove(block, "priority=gt.100");
    expect(await deleteNone.json()).toEqual({ items: [], count: 0 });
    expect((await databaseFor(env, block).changesSince(0)).seq).toBe(7);
  });

  it("changes nothing when the patch is invalid for one of the rows (422 naming the row)", async () => {
    const block = "user:wbf-invalid";
    await seed(block, [...NOTES, { id: "f", title: "near the limit", priority: Number.MAX_SAFE_INTEGER - 1 }]);
    const response = await patch(block, "priority=gte.1", { priority: { $inc: 5 }, title: "renamed" });
    expect(response.status).toBe(422);
    const error = await problem(response);
    expect(error).toMatchObject({ code: "VALIDATION_FAILED", errors: { priority: "must be an integer" } });
    expect(error.detail).toMatch(/^Row "f":/);
    expect((await rows(block)).every((r) => r.version === 1 && r.title !== "renamed")).toBe(true);
    expect((await databaseFor(env, block).changesSince(0)).seq).toBe(6);
  });

  it("refuses a bad body with 422 even when no row matches", async () => {
    const block = "user:wbf-shape";
    await seed(block);
    for (const body of [{ nope: 1 }, { version: 3 }, { id: "x" }, [1], "text"]) {
      const response = await patch(block, "priority=gt.100", body);
      expect(response.status, JSON.stringify(body)).toBe(422);
      expect(await problem(response)).toMatchObject({ code: "VALIDATION_FAILED" });
    }
  });
});

describe("DELETE /api/db/:block/tables/:table?<filters>", () => {
  it("deletes every matching row, answers the rows as they were, and logs one delete per row", async () => {
    const block = "user:wbf-delete";
    await seed(block);
    const response = await remove(block, "priority=in.(2,4,99)");
    expect(response.status).toBe(200);
    expect(response.headers.get("X-Seq")).toBe("7");
    const body = (await response.json()) as Where;
    expect(body.count).toBe(2);
    expect(body.items).toEqual([expect.objectContaining({ id: "b", title: "beta" }), expect.objectContaining({ id: "d", title: "delta" })]);
    expect((await rows(block)).map((r) => r.id)).toEqual(["a", "c", "e"]);
    const log = await databaseFor(env, block).changesSince(5);
    expect(log.changes.map((c) => [c.seq, c.op, c.id, c.old?.title])).toEqual([
      [6, "delete", "b", "beta"],
      [7, "delete", "d", "delta"],
    ]);
  });
});

describe("writes by filter: the query", () => {
  it("needs at least one filter, for PATCH and DELETE", async () => {
    const block = "user:wbf-nofilter";
    await seed(block);
    for (const response of [await patch(block, "", { done: true }), await remove(block, "")]) {
      expect(response.status).toBe(400);
      const error = await problem(response);
      expect(error.code).toBe("INVALID_QUERY");
      expect(error.detail).toMatch(/at least one filter.*id=not\.is\.null/);
    }
    const all = await remove(block, "id=not.is.null");
    expect(((await all.json()) as Where).count).toBe(5);
  });

  it("refuses list parameters and If-Match with 400, and changes nothing", async () => {
    const block = "user:wbf-params";
    await seed(block);
    for (const extra of ["order=id.desc", "limit=1", "offset=1", "cursor=abc", "select=id", "count=exact", "search=alpha"]) {
      for (const response of [
        await patch(block, `done=eq.false&${extra}`, { done: true }),
        await remove(block, `done=eq.false&${extra}`),
      ]) {
        expect(response.status, extra).toBe(400);
        const error = await problem(response);
        expect(error.code).toBe("INVALID_QUERY");
        expect(error.detail).toContain(`"${extra.split("=")[0]}"`);
      }
    }
    const ifMatch = await call(
      `/api/db/${block}/tables/notes?done=eq.false`,
      jsonInit("PATCH", { done: true }, { ...SERVICE, "If-Match": '"1"' }),
    );
    expect(ifMatch.status).toBe(400);
    expect(await problem(ifMatch)).toMatchObject({ code: "INVALID_IF_MATCH" });
    expect((await problem(await patch(block, "nope=eq.1", { done: true }))).code).toBe("UNKNOWN_COLUMN");
    expect((await problem(await remove(block, "done=true"))).code).toBe("MISSING_OPERATOR");
    expect((await databaseFor(env, block).changesSince(0)).seq).toBe(5);
  });

  it("answers 413 TOO_MANY_ROWS and changes nothing when more than maxRowsPerWrite rows match", async () => {
    const block = "user:wbf-limit";
    await seed(
      block,
      Array.from({ length: 1000 }, (_, i) => ({ id: `r${String(i).padStart(4, "0")}`, title: `row ${i}` })),
    );
    await seed(block, [{ id: "zz", title: "one more" }]);
    const tooMany = await patch(block, "id=not.is.null", { done: true });
    expect(tooMany.status).toBe(413);
    const error = await problem(tooMany);
    expect(error.code).toBe("TOO_MANY_ROWS");
    expect(error.detail).toMatch(/^1001 rows .* at most 1000/);
    expect((await remove(block, "id=not.is.null")).status).toBe(413);
    expect((await databaseFor(env, block).changesSince(0)).seq).toBe(1001);
    // Exactly the limit is fine.
    const limit = await patch(block, "id=like.r*", { done: true });
    expect(limit.status).toBe(200);
    expect(((await limit.json()) as Where).count).toBe(1000);
    expect(limit.headers.get("X-Seq")).toBe("2001");
  });
});

describe("writes by filter: rules", () => {
  it("applies the block rules: a workspace member may update by filter but not delete; outsiders and anonymous callers get 403 and 401", async () => {
    const ws = "workspace:wbf-rules";
    const member = await as("wbf-m", { workspaces: ["wbf-rules"] });
    const outsider = await as("wbf-o", { workspaces: ["other"] });
    await seed(ws, [{ title: "a" }, { title: "b", status: "doing" }], "tasks", member);
    const updated = await patch(ws, "status=eq.todo", { status: "doing" }, member, "tasks");
    expect(updated.status).toBe(200);
    expect(((await updated.json()) as Where).count).toBe(1);
    expect((await remove(ws, "status=eq.doing", member, "tasks")).status).toBe(403);
    expect((await patch(ws, "status=eq.doing", { status: "done" }, outsider, "tasks")).status).toBe(403);
    expect((await remove(ws, "status=eq.doing", outsider, "tasks")).status).toBe(403);
    expect((await patch(ws, "status=eq.doing", { status: "done" }, {}, "tasks")).status).toBe(401);
    expect((await rows(ws, "tasks")).map((r) => r.status)).toEqual(["doing", "doing"]);
  });

  it("ANDs the read and update rules' filters in: a caller changes and counts only the rows it may change", async () => {
    const { IdGenerator } = await import("../objects/database/ids");
    const { prepareTable } = await import("../objects/database/schema");
    const { insertOne } = await import("../objects/database/writes");
    const { deleteWhere, updateWhere } = await import("../objects/database/writes-by-filter");
    const stub = env.DATABASE.get(env.DATABASE.idFromName("wbf-row-rules"));
    await runInDurableObject(stub, (_instance, state) => {
      const table = prepareTable(state.storage, "tasks", TEAM.namespaces.team?.tables.tasks ?? { columns: {} });
      const session = (caller: Caller): WriteSession => ({
        sql: state.storage.sql,
        config: TEAM,
        caller,
        block: TEAM_BLOCK,
        now: 10,
        ids: new IdGenerator(),
        baseSeq: 0,
        changes: [],
      });
      const service = session({ kind: "service" });
      insertOne(service, table, { id: "d1", title: "a", assignee: "dana", points: 1 }, null);
      insertOne(service, table, { id: "d2", title: "b", assignee: "dana", points: 2 }, null);
      insertOne(service, table, { id: "e1", title: "c", assignee: "erin", points: 1 }, null);
      insertOne(service, table, { id: "n1", title: "d", assignee: null, points: 1 }, null);
      const all = parseWriteFilter("points=gte.0", table.columns, TEAM.limits);
      const dana = session(DANA);
      // dana reads her rows and unassigned ones, and updates only her own.
      const updated = state.storage.transactionSync(() => updateWhere(dana, table, all, { points: { $inc: 10 } }, 1000));
      expect(updated.items.map((r) => [r.id, r.points])).toEqual([
        ["d1", 11],
        ["d2", 12],
      ]);
      expect(dana.changes.map((c) => `${c.op}:${c.id}`)).toEqual(["update:d1", "update:d2"]);
      // Giving her rows away would leave them outside her update rule: refused whole, nothing written.
      expect(() => state.storage.transactionSync(() => updateWhere(session(DANA), table, all, { assignee: "erin" }, 1000))).toThrow(
        expect.objectContaining({ status: 403 }),
      );
      // Her delete rule admits unassigned rows only; erin's rows are never seen.
      const deleted = state.storage.transactionSync(() => deleteWhere(session(DANA), table, all, 1000));
      expect(deleted).toMatchObject({ count: 1, items: [{ id: "n1" }] });
      const left = state.storage.sql
        .exec<{ id: string; assignee: string; points: number }>(`SELECT id, assignee, points FROM tasks ORDER BY id`)
        .toArray();
      expect(left).toEqual([
        { id: "d1", assignee: "dana", points: 11 },
        { id: "d2", assignee: "dana", points: 12 },
        { id: "e1", assignee: "erin", points: 1 },
      ]);
      // A cap counts only rows the caller may change: dana may update 2, so a cap of 2 passes and of 1 is 413.
      expect(state.storage.transactionSync(() => updateWhere(session(DANA), table, all, {}, 2)).count).toBe(2);
      expect(() => state.storage.transactionSync(() => updateWhere(session(DANA), table, all, {}, 1))).toThrow(
        expect.objectContaining({ status: 413, code: "TOO_MANY_ROWS" }),
      );
    });
  });

  it("answers 409 for a unique conflict and changes nothing", async () => {
    const { IdGenerator } = await import("../objects/database/ids");
    const { prepareTable } = await import("../objects/database/schema");
    const { insertOne } = await import("../objects/database/writes");
    const { updateWhere } = await import("../objects/database/writes-by-filter");
    const stub = env.DATABASE.get(env.DATABASE.idFromName("wbf-unique"));
    await runInDurableObject(stub, (_instance, state) => {
      const table = prepareTable(state.storage, "handles", {
        columns: { handle: { type: "string", unique: true }, n: { type: "integer" } },
      });
      const session: WriteSession = {
        sql: state.storage.sql,
        config: TEAM,
        caller: { kind: "service" },
        block: TEAM_BLOCK,
        now: 10,
        ids: new IdGenerator(),
        baseSeq: 0,
        changes: [],
      };
      for (const [id, handle] of [
        ["h1", "ann"],
        ["h2", "bob"],
        ["h3", "cy"],
      ])
        insertOne(session, table, { id, handle, n: 1 }, null);
      const filter = parseWriteFilter("id=in.(h2,h3)", table.columns, TEAM.limits);
      expect(() =>
        state.storage.transactionSync(() => updateWhere({ ...session, changes: [] }, table, filter, { handle: "ann", n: 2 }, 1000)),
      ).toThrow(expect.objectContaining({ status: 409, code: "UNIQUE_CONFLICT", errors: { handle: "already exists" } }));
      expect(state.storage.sql.exec(`SELECT id, handle, n FROM handles ORDER BY id`).toArray()).toEqual([
        { id: "h1", handle: "ann", n: 1 },
        { id: "h2", handle: "bob", n: 1 },
        { id: "h3", handle: "cy", n: 1 },
      ]);
    });
  });
});

describe("writes by filter: Idempotency-Key", () => {
  it("replays the first answer to a retry and changes nothing more", async () => {
    const block = "user:wbf-idem";
    await seed(block);
    const headers = { ...SERVICE, "Idempotency-Key": "wbf-1" };
    const first = await patch(block, "done=eq.false", { priority: { $inc: 1 } }, headers);
    expect(first.status).toBe(200);
    const retry = await patch(block, "done=eq.false", { priority: { $inc: 1 } }, headers);
    expect(retry.status).toBe(200);
    expect(retry.headers.get("Idempotent-Replayed")).toBe("true");
    expect(retry.headers.get("X-Seq")).toBe("8");
    expect(await retry.json()).toEqual(await first.json());
    expect((await rows(block)).map((r) => r.priority)).toEqual([2, 2, 4, 4, 6]);
    const other = await remove(block, "done=eq.false", headers);
    expect(other.status).toBe(422);
    expect(await problem(other)).toMatchObject({ code: "IDEMPOTENCY_KEY_REUSED" });
    const deleteKey = { ...SERVICE, "Idempotency-Key": "wbf-2" };
    expect(((await (await remove(block, "done=eq.true", deleteKey)).json()) as Where).count).toBe(2);
    const replayed = await remove(block, "done=eq.true", deleteKey);
    expect(replayed.headers.get("Idempotent-Replayed")).toBe("true");
    expect(((await replayed.json()) as Where).count).toBe(2);
    expect((await databaseFor(env, block).changesSince(0)).seq).toBe(10);
  });

  it("refuses, all or none, a write whose answer is too large to keep for a replay (413), and does it without the key", async () => {
    const block = "user:wbf-huge";
    const body = "x".repeat(2_500);
    for (let start = 0; start < 1_000; start += 250) {
      const batch = Array.from({ length: 250 }, (_, i) => ({ title: `big ${start + i}`, body }));
      expect((await call(`/api/db/${block}/tables/notes`, jsonInit("POST", batch, SERVICE))).status).toBe(201);
    }
    const refused = await remove(block, "title=like.big*", { ...SERVICE, "Idempotency-Key": "wbf-huge" });
    expect(refused.status).toBe(413);
    expect(await problem(refused)).toMatchObject({ code: "TOO_MANY_ROWS" });
    expect(await rows(block)).toHaveLength(1_000);
    const done = await remove(block, "title=like.big*", SERVICE);
    expect(((await done.json()) as Where).count).toBe(1_000);
    expect(await rows(block)).toHaveLength(0);
  });
});

describe("GET ...?offset=", () => {
  it("pages by offset like the ordered list, counts all rows, and refuses a negative, huge or cursor-combined offset", async () => {
    const block = "user:wbf-offset";
    await seed(block);
    const list = async (query: string) => call(`/api/db/${block}/tables/notes?${query}`, { headers: SERVICE });
    const full = ((await (await list("order=priority.desc")).json()) as { items: Row[] }).items.map((r) => r.id);
    const paged: string[] = [];
    for (const offset of [0, 2, 4]) {
      const page = (await (await list(`order=priority.desc&limit=2&offset=${offset}&count=exact`)).json()) as {
        items: Row[];
        total: number;
      };
      expect(page.total).toBe(5);
      paged.push(...page.items.map((r) => r.id));
    }
    expect(paged).toEqual(full);
    expect(((await (await list("offset=5")).json()) as { items: Row[] }).items).toEqual([]);
    const withCursor = (await (await list("limit=2&offset=1")).json()) as { items: Row[]; nextCursor: string };
    expect(withCursor.items.map((r) => r.id)).toEqual(["b", "c"]);
    // nextCursor still points after the page's last row.
    expect(((await (await list(`limit=2&cursor=${withCursor.nextCursor}`)).json()) as { items: Row[] }).items.map((r) => r.id)).toEqual([
      "d",
      "e",
    ]);
    for (const bad of ["offset=-1", "offset=1.5", "offset=abc", "offset=100001", `offset=1&cursor=${withCursor.nextCursor}`]) {
      const response = await list(bad);
      expect(response.status, bad).toBe(400);
      expect((await problem(response)).code).toBe("INVALID_QUERY");
    }
  });
});

describe("client: table.updateWhere and table.deleteWhere", () => {
  it("update and delete by filter through the Worker and resolve to {items, count}", async () => {
    const block = "user:wbf-client";
    await seed(block);
    const transport = {
      baseUrl: "https://actorbase.test",
      token: async () => TEST_SECRETS.SERVICE_KEY,
      fetch: ((input: RequestInfo | URL, init?: RequestInit) => exports.default.fetch(new Request(input, init))) as typeof fetch,
    };
    const notes = new TableRest<{ title: string; done: boolean; priority: number }>(transport, block, "notes");
    const updated = await notes.updateWhere({ priority: "gte.4" }, { done: false, priority: { $inc: 1 } }, { idempotencyKey: "client-1" });
    expect(updated.count).toBe(2);
    expect(updated.items.map((r) => [r.id, r.priority, r.done])).toEqual([
      ["d", 5, false],
      ["e", 6, false],
    ]);
    const deleted = await notes.deleteWhere("done=eq.false&priority=lt.5");
    expect(deleted.items.map((r) => r.id)).toEqual(["a", "c"]);
    expect((await notes.list()).items.map((r) => r.id)).toEqual(["b", "d", "e"]);
    await expect(notes.deleteWhere({})).rejects.toMatchObject({ status: 400, code: "INVALID_QUERY" });
  });
});

// Rules as filters (as in db-rules.test.ts): dana reads her rows and unassigned ones, updates her
// own, and deletes unassigned ones only.
const TEAM = defineConfig({
  namespaces: {
    team: {
      kind: "dynamic",
      rules: {
        read: ({ auth }) => (auth ? `or=(assignee.eq.${auth.sub},assignee.is.null)` : false),
        update: ({ auth }) => (auth ? `assignee=eq.${auth.sub}` : false),
        delete: ({ auth }) => (auth ? "assignee=is.null" : false),
        insert: () => true,
      },
      tables: { tasks: { columns: { title: { type: "string" }, assignee: { type: "string" }, points: { type: "integer" } } } },
    },
  },
});
const TEAM_BLOCK = { name: "team:t1", namespace: "team", id: "t1" };
const DANA: Caller = { kind: "user", sub: "dana", claims: {}, expiresAt: Date.now() + 60_000 };
