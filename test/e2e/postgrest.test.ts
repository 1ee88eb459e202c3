import { Validator } from "@seriousme/openapi-schema-validator";
import { PostgrestClient } from "@supabase/postgrest-js";
import { createClient } from "@supabase/supabase-js";
import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import { SERVICE_HEADERS, api, baseUrl, token, unique } from "./helpers";
import { E2E_VARS } from "./secrets";

const ANON = E2E_VARS.ANON_KEY;

/** supabase-js against the e2e server; Node 20 has no WebSocket of its own, so realtime-js gets `ws` (never connected here). */
function supabase(jwt?: string) {
  return createClient(baseUrl(), ANON, {
    realtime: { transport: WebSocket as never },
    ...(jwt === undefined ? {} : { accessToken: async () => jwt }),
  });
}

interface Note {
  id: string;
  title: string;
  body: string | null;
  done: boolean;
  priority: number | null;
  tags: string[] | null;
  version: number;
}

const SEED = [
  { id: "a", title: "Plan the trip", body: "flights and hotels", done: false, priority: 3, tags: ["urgent", "travel"] },
  { id: "b", title: "beta release", body: "ship it", done: true, priority: 5, tags: ["work"] },
  { id: "c", title: "Groceries", body: null, done: false, priority: null, tags: null },
  { id: "d", title: "plan budget", body: "numbers", done: false, priority: 4, tags: ["work", "urgent"] },
  { id: "e", title: "100% done?", body: "under_score", done: true, priority: 0, tags: [] },
];

/** A fresh user block and a supabase-js client signed in as its owner (the JWT through `accessToken`). */
async function ownerClient() {
  const sub = unique("pg");
  const jwt = await token(sub);
  return { sub, jwt, block: `user:${sub}`, db: supabase(jwt).schema(`user:${sub}`) };
}

/** A fresh block seeded with SEED through supabase-js. */
async function seeded() {
  const owner = await ownerClient();
  const { data, error, status } = await owner.db.from("notes").insert(SEED).select("id");
  expect(error).toBeNull();
  expect(status).toBe(201);
  expect(data).toHaveLength(5);
  return owner;
}

function ids(rows: { id: string }[] | null): string[] {
  return (rows ?? []).map((row) => row.id);
}

describe("supabase-js and postgrest-js reads", () => {
  it("filters with eq, neq, gt, gte, lt, lte, like, ilike, in, is, not, or and and", async () => {
    const { db } = await seeded();
    const notes = () => db.from("notes").select("id").order("id");
    expect(ids((await notes().eq("done", false)).data)).toEqual(["a", "c", "d"]);
    expect(ids((await notes().neq("priority", 3)).data)).toEqual(["b", "d", "e"]);
    expect(ids((await notes().gt("priority", 3)).data)).toEqual(["b", "d"]);
    expect(ids((await notes().gte("priority", 3).lte("priority", 4)).data)).toEqual(["a", "d"]);
    expect(ids((await notes().lt("priority", 3)).data)).toEqual(["e"]);
    expect(ids((await notes().like("title", "%plan%")).data)).toEqual(["d"]);
    expect(ids((await notes().ilike("title", "%PLAN%")).data)).toEqual(["a", "d"]);
    expect(ids((await notes().in("id", ["a", "c", "zz"])).data)).toEqual(["a", "c"]);
    expect(ids((await notes().is("priority", null)).data)).toEqual(["c"]);
    expect(ids((await notes().not("priority", "is", null).not("done", "eq", true)).data)).toEqual(["a", "d"]);
    expect(ids((await notes().or("priority.gt.4,title.ilike.%groc%")).data)).toEqual(["b", "c"]);
    expect(ids((await notes().or("done.is.true,and(priority.gte.4,title.like.*budget)")).data)).toEqual(["b", "d", "e"]);
    expect(ids((await notes().contains("tags", ["work"])).data)).toEqual(["b", "d"]);
    expect(ids((await notes().match({ done: true, priority: 5 })).data)).toEqual(["b"]);
    expect(ids((await notes().filter("title", "in", '("beta release",Groceries)')).data)).toEqual(["b", "c"]);
  });

  it("searches full text with textSearch (plain, phrase, websearch, tsquery)", async () => {
    const { db } = await seeded();
    const search = (query: string, options?: { type?: "plain" | "phrase" | "websearch"; config?: string }) =>
      db.from("notes").select("id").textSearch("title", query, options).order("id");
    expect(ids((await search("plan")).data)).toEqual(["a", "d"]);
    expect(ids((await search("plan & budget")).data)).toEqual(["d"]);
    expect(ids((await search("flights hotels", { type: "plain", config: "english" })).data)).toEqual(["a"]);
    expect(ids((await search("plan budget", { type: "phrase" })).data)).toEqual(["d"]);
    expect(ids((await search('"the trip"', { type: "websearch" })).data)).toEqual(["a"]);
    const refused = await search("plan | trip");
    expect(refused.status).toBe(400);
    expect(refused.error?.message).toMatch(/not supported/);
  });

  it("selects columns, orders with nulls first or last, pages with range, and counts", async () => {
    const { db } = await seeded();
    const { data: picked } = await db.from("notes").select("id, name:title").eq("id", "b");
    expect(picked).toEqual([{ id: "b", name: "beta release" }]);
    const order = async (ascending: boolean, nullsFirst?: boolean) =>
      ids(
        (
          await db
            .from("notes")
            .select("id")
            .order("priority", nullsFirst === undefined ? { ascending } : { ascending, nullsFirst })
        ).data,
      );
    expect(await order(true)).toEqual(["e", "a", "d", "b", "c"]);
    expect(await order(true, true)).toEqual(["c", "e", "a", "d", "b"]);
    expect(await order(false)).toEqual(["c", "b", "d", "a", "e"]);
    expect(await order(false, false)).toEqual(["b", "d", "a", "e", "c"]);
    const multi = await db.from("notes").select("id").not("priority", "is", null).order("done", { ascending: false }).order("priority");
    expect(ids(multi.data)).toEqual(["e", "b", "a", "d"]);

    const page = await db.from("notes").select("id", { count: "exact" }).order("id").range(1, 2);
    expect([ids(page.data), page.count, page.status]).toEqual([["b", "c"], 5, 200]);
    const limited = await db.from("notes").select("id", { count: "planned" }).eq("done", true).limit(1);
    expect([ids(limited.data), limited.count]).toEqual([["b"], 2]);
    const head = await db.from("notes").select("*", { count: "exact", head: true }).eq("done", false);
    expect([head.data, head.count, head.error]).toEqual([null, 3, null]);
    const none = await db.from("notes").select("id", { count: "exact" }).eq("id", "nope");
    expect([none.data, none.count]).toEqual([[], 0]);
  });

  it("answers single() and maybeSingle() for 0, 1 and 2 rows as PostgREST does", async () => {
    const { db } = await seeded();
    const one = await db.from("notes").select("id, title").eq("id", "a").single();
    expect([one.data, one.error, one.status]).toEqual([{ id: "a", title: "Plan the trip" }, null, 200]);
    const zero = await db.from("notes").select("id").eq("id", "nope").single();
    expect(zero.status).toBe(406);
    expect(zero.data).toBeNull();
    expect(zero.error).toMatchObject({ code: "PGRST116", details: "The result contains 0 rows" });
    expect(zero.error?.message).toMatch(/JSON object requested/);
    const two = await db.from("notes").select("id").eq("done", true).single();
    expect([two.status, two.error?.code, two.error?.details]).toEqual([406, "PGRST116", "The result contains 2 rows"]);

    const maybeOne = await db.from("notes").select("id").eq("id", "b").maybeSingle();
    expect([maybeOne.data, maybeOne.error]).toEqual([{ id: "b" }, null]);
    const maybeZero = await db.from("notes").select("id").eq("id", "nope").maybeSingle();
    expect([maybeZero.data, maybeZero.error, maybeZero.status]).toEqual([null, null, 200]);
    const maybeTwo = await db.from("notes").select("id").eq("done", true).maybeSingle();
    expect([maybeTwo.status, maybeTwo.error?.code]).toEqual([406, "PGRST116"]);
  });
});

describe("supabase-js writes", () => {
  it("inserts one and many, returning rows with select() and nothing without", async () => {
    const { db, block } = await ownerClient();
    const minimal = await db.from("notes").insert({ id: "m1", title: "quiet" });
    expect([minimal.status, minimal.data, minimal.error]).toEqual([201, null, null]);
    const one = await db.from("notes").insert({ title: "loud", priority: 2 }).select().single();
    expect(one.status).toBe(201);
    expect(one.data).toMatchObject({ title: "loud", priority: 2, done: false, version: 1 });
    expect(typeof (one.data as Note).id).toBe("string");
    const many = await db
      .from("notes")
      .insert([{ title: "x" }, { title: "y", done: true }])
      .select("title, done");
    expect(many.data).toEqual([
      { title: "x", done: false },
      { title: "y", done: true },
    ]);
    const counted = await db.from("notes").insert([{ title: "z1" }, { title: "z2" }], { count: "exact" });
    expect([counted.status, counted.count, counted.data]).toEqual([201, 2, null]);
    const all = await api(`/api/db/${block}/tables/notes?count=exact`, { headers: SERVICE_HEADERS });
    expect(((await all.json()) as { total: number }).total).toBe(6);
  });

  it("upserts with merge-duplicates and ignore-duplicates, on id or onConflict", async () => {
    const { db } = await seeded();
    const merged = await db
      .from("notes")
      .upsert([
        { id: "a", title: "Plan the trip again", priority: 9 },
        { id: "n1", title: "new one" },
      ])
      .select("id, title, priority, version")
      .order("id");
    expect(merged.error).toBeNull();
    expect(merged.data).toEqual(
      expect.arrayContaining([
        { id: "a", title: "Plan the trip again", priority: 9, version: 2 },
        expect.objectContaining({ id: "n1", title: "new one", version: 1 }),
      ]),
    );
    const byColumn = await db.from("notes").upsert({ id: "b", title: "beta final" }, { onConflict: "id" }).select("id, title").single();
    expect(byColumn.data).toEqual({ id: "b", title: "beta final" });

    const ignored = await db
      .from("notes")
      .upsert(
        [
          { id: "c", title: "should not replace" },
          { id: "n2", title: "fresh" },
          { id: "n2", title: "fresh twice" },
        ],
        { ignoreDuplicates: true },
      )
      .select("id, title");
    expect(ignored.error).toBeNull();
    expect(ignored.data).toEqual([{ id: "n2", title: "fresh" }]);
    const c = await db.from("notes").select("title").eq("id", "c").single();
    expect(c.data).toEqual({ title: "Groceries" });
  });

  it("updates and deletes by filter, returning the rows or nothing, with counts", async () => {
    const { db } = await seeded();
    const updated = await db
      .from("notes")
      .update({ done: true })
      .eq("done", false)
      .gte("priority", 3)
      .select("id, done, version")
      .order("id");
    expect(updated.status).toBe(200);
    expect(updated.data).toEqual([
      { id: "a", done: true, version: 2 },
      { id: "d", done: true, version: 2 },
    ]);
    const quiet = await db.from("notes").update({ priority: 1 }, { count: "exact" }).is("priority", null);
    expect([quiet.status, quiet.data, quiet.count, quiet.error]).toEqual([204, null, 1, null]);
    const one = await db.from("notes").update({ title: "renamed" }).eq("id", "e").select("title").single();
    expect(one.data).toEqual({ title: "renamed" });
    const refused = await db.from("notes").update({ title: "nope" }).eq("done", true).select().single();
    expect([refused.status, refused.error?.code]).toEqual([406, "PGRST116"]);
    expect((await db.from("notes").select("id").eq("title", "nope")).data).toEqual([]);

    const deleted = await db.from("notes").delete().in("id", ["a", "b"]).select("id").order("id");
    expect(ids(deleted.data)).toEqual(["a", "b"]);
    const gone = await db.from("notes").delete({ count: "exact" }).eq("id", "c");
    expect([gone.status, gone.count, gone.data]).toEqual([204, 1, null]);
    const left = await db.from("notes").select("id").order("id");
    expect(ids(left.data)).toEqual(["d", "e"]);
  });
});

describe("PostgREST errors through the clients", () => {
  it("surfaces unknown columns, unique violations and embedding as PostgREST error objects", async () => {
    const { db } = await seeded();
    const column = await db.from("notes").select("id, colour");
    expect(column.status).toBe(400);
    expect(column.error).toMatchObject({ code: "42703", message: "column notes.colour does not exist" });
    const filter = await db.from("notes").select("id").eq("colour", "red");
    expect(filter.error?.code).toBe("42703");
    const duplicate = await db.from("notes").insert({ id: "a", title: "again" });
    expect(duplicate.status).toBe(409);
    expect(duplicate.error?.code).toBe("23505");
    expect(duplicate.error?.message).toBeTruthy();
    const embedded = await db.from("notes").select("id, author(name)");
    expect(embedded.status).toBe(400);
    expect(embedded.error).toMatchObject({ code: "PGRST200", hint: expect.stringContaining("docs/postgrest.md") });
    expect(embedded.error?.message).toMatch(/^Resource embedding .* is not supported/);
    const invalid = await db.from("notes").insert({ title: "", priority: "high" });
    expect(invalid.status).toBe(422);
    expect(invalid.error?.code).toBe("23514");
    expect(invalid.error?.details).toMatch(/priority/);
    const rpc = await db.rpc("hello");
    expect([rpc.status, rpc.error?.code]).toEqual([400, "PGRST202"]);
  });

  it("answers 401 to the anonymous caller and 403 to another user where the rules say no", async () => {
    const { block } = await seeded();
    const anonymous = supabase().schema(block);
    const denied = await anonymous.from("notes").select("id");
    expect(denied.status).toBe(401);
    expect(denied.error).toMatchObject({ code: "42501", actorbaseCode: "AUTH_REQUIRED" });
    expect(denied.error?.message).toMatch(/Sign in/);
    const otherJwt = await token(unique("other"));
    const other = supabase(otherJwt).schema(block);
    const forbidden = await other.from("notes").update({ done: true }).eq("id", "a");
    expect([forbidden.status, forbidden.error?.code]).toEqual([403, "42501"]);
    const publicPosts = await supabase().schema("public").from("posts").select("*");
    expect([publicPosts.status, publicPosts.error]).toEqual([200, null]);
    const write = await supabase().schema("public").from("posts").insert({ title: "spam" });
    expect(write.status).toBe(401);
  });

  it("asks for a schema when none is given, and refuses a bad token with 401", async () => {
    const plain = await new PostgrestClient(`${baseUrl()}/rest/v1`, { headers: { apikey: ANON } }).from("posts").select("*");
    expect(plain.status).toBe(400);
    expect(plain.error?.code).toBe("PGRST106");
    const forged = supabase(`${await token("x")}x`).schema("public");
    const refused = await forged.from("posts").select("*");
    expect(refused.status).toBe(401);
  });
});

describe("new PostgrestClient(<url>/api/rest/<block>)", () => {
  it("names the block in the path and works like /rest/v1", async () => {
    const { block, jwt } = await seeded();
    const client = new PostgrestClient(`${baseUrl()}/api/rest/${block}`, { headers: { apikey: ANON, Authorization: `Bearer ${jwt}` } });
    const read = await client.from("notes").select("id, title", { count: "exact" }).ilike("title", "*plan*").order("id");
    expect([ids(read.data), read.count]).toEqual([["a", "d"], 2]);
    const inserted = await client.from("notes").insert({ id: "p1", title: "via path" }).select("id, version").single();
    expect(inserted.data).toEqual({ id: "p1", version: 1 });
    const removed = await client.from("notes").delete().eq("id", "p1").select("id");
    expect(ids(removed.data)).toEqual(["p1"]);
    const stranger = new PostgrestClient(`${baseUrl()}/api/rest/${block}`, { headers: { apikey: ANON } });
    expect((await stranger.from("notes").select("id")).status).toBe(401);
  });

  it("works with the service key as the bearer and keeps writes idempotent with Idempotency-Key", async () => {
    const { block } = await seeded();
    const service = new PostgrestClient(`${baseUrl()}/rest/v1`, {
      headers: { Authorization: `Bearer ${E2E_VARS.SERVICE_KEY}` },
      schema: block,
    });
    const key = unique("idem");
    const first = await service.from("notes").insert({ title: "once" }).setHeader("Idempotency-Key", key).select("id").single();
    const again = await service.from("notes").insert({ title: "once" }).setHeader("Idempotency-Key", key).select("id").single();
    expect(first.error).toBeNull();
    expect(again.data).toEqual(first.data);
    const count = await service.from("notes").select("*", { count: "exact", head: true }).eq("title", "once");
    expect(count.count).toBe(1);
  });
});

describe("GET /api/openapi.json and the PostgREST routes", () => {
  it("describes /api/rest/{block}/<table> for every method and still passes the OpenAPI validator", async () => {
    const doc = (await (await api("/api/openapi.json")).json()) as { paths: Record<string, Record<string, { operationId: string }>> };
    expect(Object.keys(doc.paths["/api/rest/{block}/notes"] ?? {}).sort()).toEqual(["delete", "get", "head", "patch", "post"]);
    expect(doc.paths["/api/rest/{block}/posts"]?.get?.operationId).toBe("rest_list_posts");
    expect(Object.keys(doc.paths).some((path) => path.startsWith("/rest/"))).toBe(false);
    const result = await new Validator().validate(doc as unknown as Record<string, unknown>);
    expect(result.errors ?? [], JSON.stringify(result.errors, null, 2)).toEqual([]);
  });
});
