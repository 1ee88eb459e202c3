import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Caller } from "../shared/caller";
import { defineConfig } from "../shared/config";
import { parseListQuery, tableColumns } from "../shared/query";
import { cachedRuleFilter, ruleAllowsRow } from "../shared/query-match";
import { listRows } from "../objects/database/reads";
import { prepareTable } from "../objects/database/schema";
import { SERVICE, as, call, jsonInit, problem } from "./helpers/http";

type Row = Record<string, unknown> & { id: string };

describe("demo rules: user:<id>", () => {
  it("lets the owner read and write and refuses everyone else without revealing rows", async () => {
    const alice = await as("alice");
    const created = await call("/api/db/user:alice/tables/notes", jsonInit("POST", { title: "mine" }, alice));
    expect(created.status).toBe(201);
    const row = (await created.json()) as Row;
    expect((await call(`/api/db/user:alice/tables/notes/${row.id}`, { headers: alice })).status).toBe(200);
    const bob = await as("bob");
    expect((await call("/api/db/user:alice/tables/notes", { headers: bob })).status).toBe(403);
    expect((await call(`/api/db/user:alice/tables/notes/${row.id}`, { headers: bob })).status).toBe(403);
    expect((await call("/api/db/user:alice/tables/notes", jsonInit("POST", { title: "x" }, bob))).status).toBe(403);
    expect((await call("/api/db/user:alice/tables/notes")).status).toBe(401);
    const list = (await (await call("/api/db/user:alice/tables/notes", { headers: alice })).json()) as { items: Row[] };
    expect(list.items.map((r) => r.title)).toEqual(["mine"]);
  });
});

describe("demo rules: workspace:<id>", () => {
  it("lets members read and write, only admins delete, and refuses non-members", async () => {
    const member = await as("m1", { workspaces: ["ws1"] });
    const admin = await as("a1", { workspaces: ["ws1"], role: "admin" });
    const outsider = await as("o1", { workspaces: ["ws2"] });
    const created = await call("/api/db/workspace:ws1/tables/tasks", jsonInit("POST", { title: "t", status: "doing" }, member));
    expect(created.status).toBe(201);
    const task = (await created.json()) as Row;
    expect(task).toMatchObject({ status: "doing", assignee: null, points: null });
    expect((await call(`/api/db/workspace:ws1/tables/tasks/${task.id}`, jsonInit("PATCH", { status: "done" }, member))).status).toBe(200);
    expect((await call(`/api/db/workspace:ws1/tables/tasks/${task.id}`, { method: "DELETE", headers: member })).status).toBe(403);
    expect((await call(`/api/db/workspace:ws1/tables/tasks/${task.id}`, { headers: outsider })).status).toBe(403);
    expect((await call(`/api/db/workspace:ws1/tables/tasks/${task.id}`, { method: "DELETE", headers: admin })).status).toBe(200);
    const bad = await call("/api/db/workspace:ws1/tables/tasks", jsonInit("POST", { title: "t", status: "blocked" }, member));
    expect(bad.status).toBe(422);
    expect((await problem(bad)).errors).toEqual({ status: "must be one of todo, doing, done" });
  });

  it("checks every op of a batch: a member's batch with a delete is refused whole", async () => {
    const member = await as("m2", { workspaces: ["ws3"] });
    const seed = (await (await call("/api/db/workspace:ws3/tables/tasks", jsonInit("POST", { title: "keep" }, member))).json()) as Row;
    const response = await call(
      "/api/db/workspace:ws3/batch",
      jsonInit(
        "POST",
        {
          ops: [
            { op: "insert", table: "tasks", data: { title: "new" } },
            { op: "delete", table: "tasks", id: seed.id },
          ],
        },
        member,
      ),
    );
    expect(response.status).toBe(403);
    const list = (await (await call("/api/db/workspace:ws3/tables/tasks", { headers: member })).json()) as { items: Row[] };
    expect(list.items.map((r) => r.title)).toEqual(["keep"]);
  });
});

describe("demo rules: public", () => {
  it("lets anyone read, and only the service key write", async () => {
    const created = await call("/api/db/public/tables/posts", jsonInit("POST", { title: "hello", body: "world" }, SERVICE));
    expect(created.status).toBe(201);
    const anonymous = await call("/api/db/public/tables/posts");
    expect(anonymous.status).toBe(200);
    expect(((await anonymous.json()) as { items: Row[] }).items.map((r) => r.title)).toContain("hello");
    expect((await call("/api/db/public/tables/posts", jsonInit("POST", { title: "x" }))).status).toBe(401);
    expect((await call("/api/db/public/tables/posts", jsonInit("POST", { title: "x" }, await as("carol")))).status).toBe(403);
    expect(
      (await call("/api/db/public/batch", jsonInit("POST", { ops: [{ op: "insert", table: "posts", data: { title: "x" } }] }))).status,
    ).toBe(401);
  });
});

// Rules as filters: a config whose rules answer with filters, evaluated by the same helpers the actor uses.
const filtered = defineConfig({
  namespaces: {
    team: {
      kind: "dynamic",
      rules: {
        read: ({ auth }) => (auth ? `or=(assignee.eq.${auth.sub},assignee.is.null)` : false),
        update: ({ auth }) => (auth ? `assignee.eq.${auth.sub}`.replace(".", "=") : false),
        insert: ({ auth, data }) => auth !== null && data?.points !== 13,
      },
      tables: { tasks: { columns: { title: { type: "string" }, assignee: { type: "string" }, points: { type: "integer" } } } },
    },
  },
});
const teamBlock = { name: "team:t1", namespace: "team", id: "t1" };
const dana: Caller = { kind: "user", sub: "dana", claims: {}, expiresAt: Date.now() + 60_000 };
const columns = tableColumns(filtered.namespaces.team?.tables.tasks ?? { columns: {} });

describe("ruleAllowsRow", () => {
  it("checks a rule's filter against one row, and lets the service key through", () => {
    expect(ruleAllowsRow(filtered, dana, teamBlock, "tasks", columns, "read", { id: "1", assignee: "dana" })).toBe(true);
    expect(ruleAllowsRow(filtered, dana, teamBlock, "tasks", columns, "read", { id: "1", assignee: null })).toBe(true);
    expect(ruleAllowsRow(filtered, dana, teamBlock, "tasks", columns, "read", { id: "1", assignee: "erin" })).toBe(false);
    expect(ruleAllowsRow(filtered, dana, teamBlock, "tasks", columns, "update", { id: "1", assignee: "erin" })).toBe(false);
    expect(ruleAllowsRow(filtered, dana, teamBlock, "tasks", columns, "insert", { id: "1", points: 13 }, { points: 13 })).toBe(false);
    expect(ruleAllowsRow(filtered, { kind: "service" }, teamBlock, "tasks", columns, "read", { id: "1", assignee: "erin" })).toBe(true);
    expect(ruleAllowsRow(filtered, { kind: "anonymous", ip: "1.2.3.4" }, teamBlock, "tasks", columns, "read", { id: "1" })).toBe(false);
  });

  it("keeps pages full and cursors working when a read filter hides rows", async () => {
    const stub = env.DATABASE.get(env.DATABASE.idFromName("rules-as-filters"));
    await runInDurableObject(stub, (_instance, state) => {
      const table = prepareTable(state.storage, "tasks", filtered.namespaces.team?.tables.tasks ?? { columns: {} });
      for (let i = 0; i < 30; i++) {
        const assignee = i % 3 === 0 ? "dana" : i % 3 === 1 ? "erin" : null;
        state.storage.sql.exec(
          `INSERT INTO tasks (id, createdAt, updatedAt, version, title, assignee) VALUES (?, 0, 0, 1, ?, ?)`,
          `t${String(i).padStart(2, "0")}`,
          `task ${i}`,
          assignee,
        );
      }
      const ruleFilter = cachedRuleFilter("or=(assignee.eq.dana,assignee.is.null)", "tasks", table.columns);
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const query = parseListQuery(`limit=4${cursor ? `&cursor=${cursor}` : ""}`, table.columns, filtered.limits);
        const page = listRows(state.storage.sql, table, query, ruleFilter);
        if (page.nextCursor !== null) expect(page.items).toHaveLength(4);
        seen.push(...page.items.map((r) => r.id as string));
        cursor = page.nextCursor;
      } while (cursor !== null);
      expect(seen).toHaveLength(20);
      expect(seen.every((id) => Number(id.slice(1)) % 3 !== 1)).toBe(true);
    });
  });
});

describe("row rules inside the write path", () => {
  it("hides unreadable rows as 404, refuses updates the rule's filter rejects before or after the write, and writes nothing then", async () => {
    const { IdGenerator } = await import("../objects/database/ids");
    const { insertOne, readableRow, updateOne } = await import("../objects/database/writes");
    const stub = env.DATABASE.get(env.DATABASE.idFromName("rules-in-writes"));
    await runInDurableObject(stub, (_instance, state) => {
      const table = prepareTable(state.storage, "tasks", filtered.namespaces.team?.tables.tasks ?? { columns: {} });
      const session = {
        sql: state.storage.sql,
        config: filtered,
        caller: dana,
        block: teamBlock,
        now: 1,
        ids: new IdGenerator(),
        baseSeq: 0,
        changes: [],
      };
      const service = { ...session, caller: { kind: "service" } as Caller };
      insertOne(service, table, { id: "mine", title: "a", assignee: "dana" }, null);
      insertOne(service, table, { id: "theirs", title: "b", assignee: "erin" }, null);
      expect(() => readableRow(session, table, "theirs")).toThrow(expect.objectContaining({ status: 404 }));
      expect(() => updateOne(session, table, "theirs", { title: "x" }, null)).toThrow(expect.objectContaining({ status: 404 }));
      // Handing the row to someone else would leave it outside dana's update filter: refused after the write.
      expect(() => updateOne(session, table, "mine", { assignee: "erin" }, null)).toThrow(expect.objectContaining({ status: 403 }));
      expect(() => insertOne(session, table, { title: "c", points: 13 }, null)).toThrow(expect.objectContaining({ status: 403 }));
      expect(updateOne(session, table, "mine", { title: "renamed" }, null)).toMatchObject({ title: "renamed", version: 2 });
    });
  });
});

describe("cachedRuleFilter", () => {
  it("parses a rule's filter per table shape, so namespaces sharing a table name do not share a parse", () => {
    const text = tableColumns({ columns: { owner: { type: "string" } } });
    const number = tableColumns({ columns: { owner: { type: "integer" } } });
    const none = tableColumns({ columns: { title: { type: "string" } } });
    expect(cachedRuleFilter("owner=eq.5", "shared", text)).toMatchObject({ column: "owner", value: "5" });
    expect(cachedRuleFilter("owner=eq.5", "shared", number)).toMatchObject({ column: "owner", value: 5 });
    expect(() => cachedRuleFilter("owner=eq.5", "shared", none)).toThrow(expect.objectContaining({ status: 400, code: "UNKNOWN_COLUMN" }));
  });
});
