import { abortAllDurableObjects, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { BlockEntry } from "../objects/catalog/contract";
import { SERVICE, as, call, jsonInit, problem } from "./helpers/http";

interface BlockPage {
  items: BlockEntry[];
  nextCursor: string | null;
}

const fresh = (label: string): string => `${label}-${crypto.randomUUID().slice(0, 8)}`;

async function insertNotes(block: string, count: number): Promise<void> {
  const notes = Array.from({ length: count }, (_, i) => ({ title: `note ${i}` }));
  const response = await call(`/api/db/${block}/tables/notes`, jsonInit("POST", notes, SERVICE));
  expect(response.status).toBe(201);
}

/**
 * Rings the block's alarm now (a catalog report is due at most 5 s after a write) until the catalog
 * shows what `check` expects: the alarm the block set may already be ringing on its own, with its
 * report still in flight.
 */
async function reported(block: string, check: (item: BlockEntry) => boolean = () => true): Promise<BlockEntry> {
  for (let attempt = 0; attempt < 100; attempt++) {
    await runDurableObjectAlarm(env.DATABASE.getByName(block));
    const item = await entry(block);
    if (item !== undefined && check(item)) return item;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the catalog never showed the expected entry for ${block}: ${JSON.stringify(await entry(block))}`);
}

async function blocks(query: string): Promise<BlockPage> {
  const response = await call(`/api/admin/blocks?${query}`, { headers: SERVICE });
  expect(response.status).toBe(200);
  return (await response.json()) as BlockPage;
}

async function entry(block: string): Promise<BlockEntry | undefined> {
  return (await blocks(`prefix=${encodeURIComponent(block)}`)).items.find((item) => item.name === block);
}

describe("the catalog of blocks", () => {
  it("lists a block after its first request, with rows per table, seq, size and times", async () => {
    const block = `user:${fresh("cat")}`;
    const before = Date.now();
    await insertNotes(block, 3);
    const item = await reported(block, (found) => found.seq === 3);
    expect(item).toMatchObject({ name: block, namespace: "user", id: block.slice(5), seq: 3, tables: { notes: { rows: 3 } } });
    expect(item?.bytes).toBeGreaterThan(0);
    expect(item?.createdAt).toBeGreaterThanOrEqual(before);
    expect(item?.lastWriteAt).toBeGreaterThanOrEqual(before);
  });

  it("registers a new block right after its first write, with no alarm left to wake it later", async () => {
    const block = `user:${fresh("burst-one")}`;
    await insertNotes(block, 1);
    let item: BlockEntry | undefined;
    for (let attempt = 0; attempt < 100 && item === undefined; attempt++) {
      item = await entry(block);
      if (item === undefined) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(item).toMatchObject({ seq: 1, tables: { notes: { rows: 1 } } });
    // A burst of new tenants must not keep each block alive for a later report.
    await runInDurableObject(env.DATABASE.getByName(block), async (_, state) => {
      expect(await state.storage.getAlarm()).toBeNull();
    });
  });

  it("registers a block that was only read, with no tables yet", async () => {
    const block = `user:${fresh("reader")}`;
    expect((await call(`/api/db/${block}/tables/notes`, { headers: SERVICE })).status).toBe(200);
    expect(await reported(block)).toMatchObject({ name: block, seq: 0, lastWriteAt: null, tables: {} });
  });

  it("coalesces statistics: writes do not reach the catalog until the block's report is due", async () => {
    const block = `user:${fresh("burst")}`;
    await insertNotes(block, 1);
    await reported(block, (found) => found.seq === 1);
    for (let i = 0; i < 5; i++) await insertNotes(block, 2);
    // Five writes later the catalog still holds the first report: no call per request.
    expect((await entry(block))?.tables.notes?.rows).toBe(1);
    const due = await runInDurableObject(env.DATABASE.getByName(block), (_, state) =>
      JSON.parse(state.storage.sql.exec<{ value: string }>(`SELECT value FROM _meta WHERE key = 'catalog'`).one().value),
    );
    expect(due.due).toBeGreaterThan(Date.now());
    expect(due.due).toBeLessThanOrEqual(Date.now() + 5_000);
    expect(await reported(block, (found) => found.seq === 11)).toMatchObject({ seq: 11, tables: { notes: { rows: 11 } } });
  });

  it("keeps rows per table up to date through deletes, writes by filter and batches", async () => {
    const block = `user:${fresh("counts")}`;
    await insertNotes(block, 4);
    await reported(block, (found) => found.tables.notes?.rows === 4);
    const page = (await (await call(`/api/db/${block}/tables/notes?order=id.asc`, { headers: SERVICE })).json()) as {
      items: { id: string }[];
    };
    const [first, second] = page.items;
    expect((await call(`/api/db/${block}/tables/notes/${first?.id}`, { method: "DELETE", headers: SERVICE })).status).toBe(200);
    expect((await call(`/api/db/${block}/tables/notes?id=eq.${second?.id}`, { method: "DELETE", headers: SERVICE })).status).toBe(200);
    const ops = [{ op: "insert", table: "notes", data: { title: "batched" } }];
    expect((await call(`/api/db/${block}/batch`, jsonInit("POST", { ops }, SERVICE))).status).toBe(200);
    expect(await reported(block, (found) => found.seq === 7)).toMatchObject({ tables: { notes: { rows: 3 } } });
  });

  it("registers a block that predates the catalog at its next request", async () => {
    const block = `workspace:${fresh("old")}`;
    const response = await call(`/api/db/${block}/tables/tasks`, jsonInit("POST", { title: "t" }, SERVICE));
    expect(response.status).toBe(201);
    await reported(block, (found) => found.seq === 1);
    // Make it look like a block from before the catalog: no registration on either side.
    await runInDurableObject(env.CATALOG.getByName("workspace"), (_, state) => {
      state.storage.sql.exec(`DELETE FROM _blocks WHERE name = ?`, block);
    });
    await runInDurableObject(env.DATABASE.getByName(block), (_, state) => {
      state.storage.sql.exec(`DELETE FROM _meta WHERE key = 'catalog'`);
    });
    expect(await entry(block)).toBeUndefined();
    // A new instance (as after a deploy) reads its state afresh; its next request registers it.
    await abortAllDurableObjects();
    expect((await call(`/api/db/${block}/tables/tasks`, { headers: SERVICE })).status).toBe(200);
    expect(await reported(block)).toMatchObject({ name: block, namespace: "workspace", tables: { tasks: { rows: 1 } } });
  });

  it("pages by cursor in name order, filtered by namespace and prefix", async () => {
    const stem = `user:${fresh("page")}`;
    const names = [0, 1, 2, 3, 4].map((i) => `${stem}-${i}`);
    for (const name of names) {
      await insertNotes(name, 1);
      await reported(name);
    }
    const seen: string[] = [];
    let cursor = "";
    for (let pages = 0; pages < 5; pages++) {
      const page = await blocks(`namespace=user&prefix=${encodeURIComponent(stem)}&limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      seen.push(...page.items.map((item) => item.name));
      if (page.nextCursor === null) break;
      cursor = page.nextCursor;
    }
    expect(seen).toEqual(names);
    // Without a namespace, the prefix alone finds them; another namespace's listing does not.
    expect((await blocks(`prefix=${encodeURIComponent(stem)}`)).items.map((item) => item.name)).toEqual(names);
    expect((await blocks(`namespace=workspace&prefix=${encodeURIComponent(stem)}`)).items).toEqual([]);
  });

  it("walks every namespace when none is given", async () => {
    await call(`/api/db/public/tables/posts`, jsonInit("POST", { title: "hello" }, SERVICE));
    await reported("public");
    const all: string[] = [];
    let cursor = "";
    for (let pages = 0; pages < 100; pages++) {
      const page = await blocks(`limit=3${cursor ? `&cursor=${cursor}` : ""}`);
      all.push(...page.items.map((item) => item.name));
      if (page.nextCursor === null) break;
      cursor = page.nextCursor;
    }
    expect(all).toContain("public");
    expect(new Set(all).size).toBe(all.length);
    const namespaces = all.map((name) => name.split(":")[0]);
    expect(namespaces).toEqual([...namespaces].sort());
  });

  it("answers bad listings with a 4xx problem", async () => {
    for (const [query, status, code] of [
      ["limit=0", 400, "INVALID_LIMIT"],
      ["limit=1001", 400, "INVALID_LIMIT"],
      ["limit=abc", 400, "INVALID_LIMIT"],
      ["cursor=%%%", 400, "INVALID_CURSOR"],
      ["cursor=bm9wZQ", 400, "INVALID_CURSOR"],
      [`namespace=public&cursor=${btoa(JSON.stringify(["user", "user:a"]))}`, 400, "INVALID_CURSOR"],
      ["namespace=nope", 404, "NAMESPACE_NOT_FOUND"],
      [`prefix=${"x".repeat(201)}`, 400, "INVALID_QUERY"],
    ] as const) {
      const response = await call(`/api/admin/blocks?${query}`, { headers: SERVICE });
      expect(response.status, query).toBe(status);
      expect((await problem(response)).code, query).toBe(code);
    }
  });

  it("is for the service key only: 401 without credentials, 403 with a user's token", async () => {
    for (const path of ["/api/admin/blocks", "/api/admin/schema"]) {
      expect((await call(path)).status).toBe(401);
      const response = await call(path, { headers: await as("alice") });
      expect(response.status).toBe(403);
      expect((await problem(response)).code).toBe("FORBIDDEN");
    }
  });
});

describe("GET /api/admin/schema", () => {
  it("returns the config as JSON, rules by function name only", async () => {
    const response = await call("/api/admin/schema", { headers: SERVICE });
    expect(response.status).toBe(200);
    const schema = (await response.json()) as {
      namespaces: Record<string, { kind: string; rules: Record<string, string>; tables: Record<string, Record<string, unknown>> }>;
      limits: Record<string, number>;
    };
    expect(schema.namespaces.user?.kind).toBe("dynamic");
    expect(schema.namespaces.user?.rules).toEqual({ read: "isOwner", write: "isOwner" });
    expect(schema.namespaces.workspace?.rules).toMatchObject({ read: "isMember", delete: "(inline)" });
    expect(schema.namespaces.user?.tables.notes).toMatchObject({
      columns: { title: { type: "string", required: true, maxLength: 200 }, done: { type: "boolean", default: false } },
      indexes: [{ columns: ["done", "priority"] }],
      search: ["title", "body"],
    });
    expect(schema.namespaces.workspace?.tables.tasks).toMatchObject({ columns: { status: { enum: ["todo", "doing", "done"] } } });
    expect(schema.limits.maxRowsPerWrite).toBeGreaterThan(0);
  });
});
