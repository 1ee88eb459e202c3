import { beforeAll, describe, expect, it } from "vitest";
import { SERVICE, call, jsonInit, problem } from "./helpers/http";

type Row = Record<string, unknown> & { id: string };
type Page = { items: Row[]; nextCursor: string | null; seq: number; total?: number };

const BLOCK = "user:query1";
const NOTES = [
  { id: "a", title: "Plan the trip", body: "flights and hotels", done: false, priority: 3, tags: ["urgent", "travel"] },
  { id: "b", title: "beta release", body: "ship it", done: true, priority: 5, tags: ["work"] },
  { id: "c", title: "Groceries", body: null, done: false, priority: 1, tags: null },
  { id: "d", title: "plan budget", body: "numbers", done: false, priority: 4, tags: ["work", "urgent"] },
  { id: "e", title: "100% done?", body: "under_score", done: true, priority: 0, tags: [] },
];

async function list(query: string, block = BLOCK): Promise<Page> {
  const response = await call(`/api/db/${block}/tables/notes?${query}`, { headers: SERVICE });
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as Page;
}

async function ids(query: string): Promise<string[]> {
  return (await list(query)).items.map((row) => row.id);
}

beforeAll(async () => {
  const response = await call(`/api/db/${BLOCK}/tables/notes`, jsonInit("POST", NOTES, SERVICE));
  expect(response.status).toBe(201);
});

describe("list filters", () => {
  it("supports every comparison operator", async () => {
    expect(await ids("done=eq.false")).toEqual(["a", "c", "d"]);
    expect(await ids("priority=neq.3")).toEqual(["b", "c", "d", "e"]);
    expect(await ids("priority=gt.3")).toEqual(["b", "d"]);
    expect(await ids("priority=gte.3")).toEqual(["a", "b", "d"]);
    expect(await ids("priority=lt.3")).toEqual(["c", "e"]);
    expect(await ids("priority=lte.3")).toEqual(["a", "c", "e"]);
    expect(await ids("id=eq.c")).toEqual(["c"]);
  });

  it("matches like case-sensitively and ilike case-insensitively with * as the wildcard", async () => {
    expect(await ids("title=like.*plan*")).toEqual(["d"]);
    expect(await ids("title=ilike.*plan*")).toEqual(["a", "d"]);
    expect(await ids("title=like.100%*")).toEqual(["e"]);
    expect(await ids("body=like.under_score")).toEqual(["e"]);
    expect(await ids("title=like.*?")).toEqual(["e"]);
  });

  it("supports in, is and cs", async () => {
    expect(await ids("id=in.(a,c,zz)")).toEqual(["a", "c"]);
    expect(await ids("priority=in.(1,5)")).toEqual(["b", "c"]);
    expect(await ids("body=is.null")).toEqual(["c"]);
    expect(await ids("done=is.true")).toEqual(["b", "e"]);
    expect(await ids(`tags=cs.${encodeURIComponent('["urgent"]')}`)).toEqual(["a", "d"]);
    expect(await ids(`tags=cs.${encodeURIComponent('["urgent","work"]')}`)).toEqual(["d"]);
  });

  it("negates with not. and leaves NULLs out of negated comparisons (SQL semantics)", async () => {
    expect(await ids("done=not.eq.true")).toEqual(["a", "c", "d"]);
    expect(await ids("body=not.is.null")).toEqual(["a", "b", "d", "e"]);
    expect(await ids("body=not.eq.ship%20it")).toEqual(["a", "d", "e"]);
    expect(await ids("id=not.in.(a,b)")).toEqual(["c", "d", "e"]);
  });

  it("ANDs column filters and nests or=() and and=()", async () => {
    expect(await ids("done=eq.false&priority=gte.3")).toEqual(["a", "d"]);
    expect(await ids("or=(priority.gt.4,done.eq.true)")).toEqual(["b", "e"]);
    expect(await ids("or=(title.eq.beta%20release,and(priority.gte.4,done.eq.false))")).toEqual(["b", "d"]);
    expect(await ids("not.or=(done.eq.true,priority.lt.2)")).toEqual(["a", "d"]);
    expect(await ids("and=(priority.gte.1,or(id.eq.a,id.eq.c),not.and(done.eq.true))")).toEqual(["a", "c"]);
    expect(await ids("or=(title.eq.%22a,b%22,id.in.(d,e))")).toEqual(["d", "e"]);
  });
});

describe("list ordering, select and count", () => {
  it("orders by several columns with id as the tie-breaker", async () => {
    expect(await ids("order=priority.desc")).toEqual(["b", "d", "a", "c", "e"]);
    expect(await ids("order=done.asc,priority.asc")).toEqual(["c", "a", "d", "e", "b"]);
    expect(await ids("order=body.asc")).toEqual(["c", "a", "d", "b", "e"]);
  });

  it("returns only selected columns and an exact total when asked", async () => {
    const page = await list("select=id,title&limit=2&count=exact&done=eq.false");
    expect(page.items).toEqual([
      { id: "a", title: "Plan the trip" },
      { id: "c", title: "Groceries" },
    ]);
    expect(page.total).toBe(3);
    expect(page.nextCursor).toEqual(expect.any(String));
    expect(page.seq).toBe(5);
  });

  it("searches the full-text columns, ranked, combinable with filters", async () => {
    expect(await ids("search=plan")).toEqual(expect.arrayContaining(["a", "d"]));
    expect((await ids("search=plan")).length).toBe(2);
    expect(await ids("search=hotels")).toEqual(["a"]);
    expect(await ids("search=pla*&priority=gte.4")).toEqual(["d"]);
    expect(await ids("search=%22unbalanced%20(")).toEqual([]);
  });
});

describe("list errors", () => {
  const cases: [string, string, string][] = [
    ["an unknown column", "nope=eq.1", "UNKNOWN_COLUMN"],
    ["a reserved word as a filter", "or=(order.eq.1)", "RESERVED_WORD"],
    ["a filter without an operator", "done=false", "MISSING_OPERATOR"],
    ["an unknown operator", "done=is2.true", "MISSING_OPERATOR"],
    ["a bad number", "priority=gt.ten", "INVALID_VALUE"],
    ["like on a number", "priority=like.1", "UNSUPPORTED_OPERATOR"],
    ["a SQL-looking column", "title;DROP TABLE notes=eq.1", "UNKNOWN_COLUMN"],
    ["a SQL-looking order", "order=title;DROP%20TABLE%20notes", "UNKNOWN_COLUMN"],
    ["a SQL-looking select", "select=id,title%20FROM%20_changes--", "UNKNOWN_COLUMN"],
    ["a quote in a column name", 'order=title"', "UNKNOWN_COLUMN"],
    ["a limit over 1000", "limit=1001", "INVALID_LIMIT"],
    ["a zero limit", "limit=0", "INVALID_LIMIT"],
    ["a malformed cursor", "cursor=%%%", "INVALID_CURSOR"],
    ["unbalanced parentheses", "or=(id.eq.a", "INVALID_QUERY"],
    ["a search on a table without search columns", "search=x", "SEARCH_NOT_AVAILABLE"],
  ];
  for (const [what, query, code] of cases) {
    it(`answers 400 ${code} for ${what}`, async () => {
      const table = code === "SEARCH_NOT_AVAILABLE" ? "tasks" : "notes";
      const block = table === "tasks" ? "workspace:q1" : BLOCK;
      const response = await call(`/api/db/${block}/tables/${table}?${query}`, { headers: SERVICE });
      expect(response.status).toBe(400);
      expect(await problem(response)).toMatchObject({ status: 400, code });
    });
  }

  it("keeps the data intact after SQL-looking input", async () => {
    expect((await list("")).items).toHaveLength(5);
  });

  it("answers 400 for a cursor from another order", async () => {
    const { nextCursor } = await list("limit=1&order=priority.desc");
    const response = await call(`/api/db/${BLOCK}/tables/notes?limit=1&cursor=${nextCursor}`, { headers: SERVICE });
    expect(response.status).toBe(400);
    expect(await problem(response)).toMatchObject({ code: "INVALID_CURSOR" });
  });

  it("answers 400 for filters nested deeper than the limit and longer than the limit", async () => {
    const deep = `or=(${"and(".repeat(9)}id.eq.a${")".repeat(9)})`;
    const tooDeep = await call(`/api/db/${BLOCK}/tables/notes?${deep}`, { headers: SERVICE });
    expect(tooDeep.status).toBe(400);
    expect(await problem(tooDeep)).toMatchObject({ code: "FILTER_TOO_DEEP" });
    const long = await call(`/api/db/${BLOCK}/tables/notes?id=in.(${"x,".repeat(2100)}a)`, { headers: SERVICE });
    expect(long.status).toBe(400);
    expect(await problem(long)).toMatchObject({ code: "QUERY_TOO_LONG" });
  });
});

describe("keyset pagination", () => {
  it("pages through 500 rows while rows are inserted and deleted, seeing each surviving row once", async () => {
    const block = "user:page1";
    const rows = Array.from({ length: 500 }, (_, i) => ({ id: `r${String(i).padStart(4, "0")}`, title: `row ${i}`, priority: i % 7 }));
    expect((await call(`/api/db/${block}/tables/notes`, jsonInit("POST", rows, SERVICE))).status).toBe(201);
    const seen: string[] = [];
    let cursor: string | null = null;
    let page = 0;
    const deleted = new Set<string>();
    do {
      const query = `order=priority.desc&limit=37${cursor ? `&cursor=${cursor}` : ""}`;
      const response = await call(`/api/db/${block}/tables/notes?${query}`, { headers: SERVICE });
      expect(response.status).toBe(200);
      const body = (await response.json()) as Page;
      seen.push(...body.items.map((r) => r.id));
      cursor = body.nextCursor;
      // Writes between pages: new rows sort before the cursor (priority 9 comes first), deletes remove unseen rows.
      await call(`/api/db/${block}/tables/notes`, jsonInit("POST", { title: `late ${page}`, priority: 9 }, SERVICE));
      const victim = `r${String(499 - page).padStart(4, "0")}`;
      if (!seen.includes(victim)) {
        await call(`/api/db/${block}/tables/notes/${victim}`, { method: "DELETE", headers: SERVICE });
        deleted.add(victim);
      }
      page++;
    } while (cursor !== null);
    expect(new Set(seen).size).toBe(seen.length);
    const expected = rows.map((r) => r.id).filter((id) => !deleted.has(id));
    expect(seen.filter((id) => id.startsWith("r")).sort()).toEqual(expected.sort());
  });
});

describe("ETag and X-Seq", () => {
  it("answers 304 to If-None-Match until the block changes", async () => {
    const block = "user:etag1";
    await call(`/api/db/${block}/tables/notes`, jsonInit("POST", { title: "x" }, SERVICE));
    const first = await call(`/api/db/${block}/tables/notes`, { headers: SERVICE });
    const tag = first.headers.get("ETag");
    expect(tag).toBe('W/"1"');
    expect(first.headers.get("X-Seq")).toBe("1");
    const again = await call(`/api/db/${block}/tables/notes`, { headers: { ...SERVICE, "If-None-Match": tag as string } });
    expect(again.status).toBe(304);
    await call(`/api/db/${block}/tables/notes`, jsonInit("POST", { title: "y" }, SERVICE));
    const changed = await call(`/api/db/${block}/tables/notes`, { headers: { ...SERVICE, "If-None-Match": tag as string } });
    expect(changed.status).toBe(200);
    expect(changed.headers.get("X-Seq")).toBe("2");
    expect(((await changed.json()) as Page).seq).toBe(2);
  });

  it("gives single rows an ETag too, and 304 while the block is unchanged", async () => {
    const block = "user:etag2";
    const row = (await (await call(`/api/db/${block}/tables/notes`, jsonInit("POST", { id: "r1", title: "x" }, SERVICE))).json()) as Row;
    const first = await call(`/api/db/${block}/tables/notes/${row.id}`, { headers: SERVICE });
    const tag = first.headers.get("ETag") as string;
    expect(tag).toBe('W/"1"');
    expect((await call(`/api/db/${block}/tables/notes/${row.id}`, { headers: { ...SERVICE, "If-None-Match": tag } })).status).toBe(304);
    await call(`/api/db/${block}/tables/notes/${row.id}`, jsonInit("PATCH", { title: "y" }, SERVICE));
    const changed = await call(`/api/db/${block}/tables/notes/${row.id}`, { headers: { ...SERVICE, "If-None-Match": tag } });
    expect(changed.status).toBe(200);
    expect(await changed.json()).toMatchObject({ title: "y", version: 2 });
  });
});
