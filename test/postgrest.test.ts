import { beforeAll, describe, expect, it } from "vitest";
import { TEST_SECRETS } from "./env";
import { SERVICE, as, call, token } from "./helpers/http";

type Row = Record<string, unknown> & { id: string };
interface PgError {
  code: string;
  message: string;
  details: string | null;
  hint: string | null;
  status: number;
  title: string;
  type: string;
  detail: string;
  actorbaseCode: string;
}

const BLOCK = "user:pgrst1";
const NOTES = [
  { id: "a", title: "Plan the trip", body: "flights and hotels", done: false, priority: 3, tags: ["urgent", "travel"] },
  { id: "b", title: "beta release", body: "ship it", done: true, priority: 5, tags: ["work"] },
  { id: "c", title: "Groceries", body: null, done: false, priority: null, tags: null },
  { id: "d", title: "plan budget", body: "numbers", done: false, priority: 4, tags: ["work", "urgent"] },
  { id: "e", title: "100% done?", body: "under_score", done: true, priority: 0, tags: [] },
];

/** A GET on /rest/v1/notes of BLOCK as the service key; `headers` are added. */
function get(query: string, headers: Record<string, string> = {}): Promise<Response> {
  return call(`/rest/v1/notes?${query}`, { headers: { ...SERVICE, "Accept-Profile": BLOCK, ...headers } });
}

async function ids(query: string, headers: Record<string, string> = {}): Promise<string[]> {
  const response = await get(query, headers);
  expect(response.status, await response.clone().text()).toBe(200);
  return ((await response.json()) as Row[]).map((row) => row.id);
}

async function failure(response: Response, status: number): Promise<PgError> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  expect(response.headers.get("Content-Type")).toMatch(/^application\/json/);
  const body = JSON.parse(text) as PgError;
  expect(body).toMatchObject({ status, message: body.detail });
  expect(typeof body.code).toBe("string");
  expect(typeof body.actorbaseCode).toBe("string");
  expect(body).toHaveProperty("details");
  expect(body).toHaveProperty("hint");
  return body;
}

beforeAll(async () => {
  const response = await call("/rest/v1/notes", {
    method: "POST",
    body: JSON.stringify(NOTES),
    headers: { ...SERVICE, "Content-Profile": BLOCK, "Content-Type": "application/json" },
  });
  expect(response.status, await response.clone().text()).toBe(201);
});

describe("PostgREST filters translated to the native grammar", () => {
  it("reads eq, neq, gt, gte, lt, lte, in, is and not as PostgREST does", async () => {
    expect(await ids("done=eq.false&order=id")).toEqual(["a", "c", "d"]);
    expect(await ids("done=eq.f&order=id")).toEqual(["a", "c", "d"]);
    expect(await ids("priority=neq.3&order=id")).toEqual(["b", "d", "e"]);
    expect(await ids("priority=gt.3&order=id")).toEqual(["b", "d"]);
    expect(await ids("priority=gte.3&priority=lte.4&order=id")).toEqual(["a", "d"]);
    expect(await ids("priority=lt.3&order=id")).toEqual(["e"]);
    expect(await ids('id=in.(a,"c",e)&order=id')).toEqual(["a", "c", "e"]);
    expect(await ids("priority=is.null")).toEqual(["c"]);
    expect(await ids("done=is.true&order=id")).toEqual(["b", "e"]);
    expect(await ids("priority=not.is.null&done=not.eq.true&order=id")).toEqual(["a", "d"]);
    expect(await ids("done=is.unknown")).toEqual([]);
  });

  it("maps like wildcards % and * and keeps _ literal", async () => {
    expect(await ids("title=like.%25plan%25&order=id")).toEqual(["d"]);
    expect(await ids("title=ilike.*plan*&order=id")).toEqual(["a", "d"]);
    expect(await ids("title=like.100\\%25*")).toEqual(["e"]);
    expect(await ids("body=like.under_score")).toEqual(["e"]);
    expect(await ids("body=like.under_scor_")).toEqual([]);
  });

  it("translates or=, and=, not.or= and nested trees, with like inside", async () => {
    expect(await ids("or=(priority.gt.4,title.ilike.%25GROC%25)&order=id")).toEqual(["b", "c"]);
    expect(await ids("or=(done.is.true,and(priority.gte.4,title.like.*budget))&order=id")).toEqual(["b", "d", "e"]);
    expect(await ids("not.or=(done.is.true,priority.is.null)&order=id")).toEqual(["a", "d"]);
    expect(await ids('and=(title.not.eq."beta release",done.eq.t)')).toEqual(["e"]);
  });

  it("reads cs with a PostgreSQL array literal and keeps a quoted top-level value literal", async () => {
    expect(await ids("tags=cs.{work}&order=id")).toEqual(["b", "d"]);
    expect(await ids('tags=cs.{"urgent",travel}')).toEqual(["a"]);
    expect(await ids('title=eq."Groceries"')).toEqual([]);
  });

  it("maps fts, plfts, phfts and wfts to the table's search, and refuses OR and NOT in them", async () => {
    expect(await ids("title=fts.plan")).toHaveLength(2);
    expect(await ids("body=plfts(english).flights hotels")).toEqual(["a"]);
    expect(await ids("title=phfts.plan budget")).toEqual(["d"]);
    expect(await ids('title=wfts."plan budget"')).toEqual(["d"]);
    expect(await ids("title=fts.plan:* %26 trip")).toEqual(["a"]);
    expect((await failure(await get("title=fts.plan | trip"), 400)).actorbaseCode).toBe("NOT_SUPPORTED");
    expect((await failure(await get("title=wfts.plan -trip"), 400)).actorbaseCode).toBe("NOT_SUPPORTED");
    expect((await failure(await get("priority=fts.plan"), 400)).actorbaseCode).toBe("SEARCH_NOT_AVAILABLE");
    expect((await failure(await get("or=(title.fts.plan,done.is.true)"), 400)).actorbaseCode).toBe("NOT_SUPPORTED");
  });
});

describe("PostgREST select, order and paging", () => {
  it("answers the selected columns under their aliases", async () => {
    const response = await get("select=id,name:title&id=eq.b");
    expect(await response.json()).toEqual([{ id: "b", name: "beta release" }]);
  });

  it("sorts NULL last ascending and first descending unless told otherwise", async () => {
    expect(await ids("order=priority.asc")).toEqual(["e", "a", "d", "b", "c"]);
    expect(await ids("order=priority.desc")).toEqual(["c", "b", "d", "a", "e"]);
    expect(await ids("order=priority.asc.nullsfirst")).toEqual(["c", "e", "a", "d", "b"]);
    expect(await ids("order=priority.desc.nullslast,id")).toEqual(["b", "d", "a", "e", "c"]);
    expect(await ids("order=priority.asc&offset=3&limit=2")).toEqual(["b", "c"]);
    expect(await ids("order=priority.desc&offset=1&limit=2")).toEqual(["b", "d"]);
  });

  it("pages with limit and offset or the Range header, and counts with Content-Range", async () => {
    const counted = await get("order=id&limit=2&offset=1", { Prefer: "count=exact" });
    expect(counted.headers.get("Content-Range")).toBe("1-2/5");
    expect(((await counted.json()) as Row[]).map((r) => r.id)).toEqual(["b", "c"]);
    const ranged = await get("order=id", { Range: "3-9", "Range-Unit": "items", Prefer: "count=planned" });
    expect(ranged.headers.get("Content-Range")).toBe("3-4/5");
    const uncounted = await get("order=id&limit=1");
    expect(uncounted.headers.get("Content-Range")).toBe("0-0/*");
    const empty = await get("id=eq.zzz", { Prefer: "count=exact" });
    expect(empty.headers.get("Content-Range")).toBe("*/0");
    const none = await get("limit=0", { Prefer: "count=exact" });
    expect([none.headers.get("Content-Range"), await none.json()]).toEqual(["*/5", []]);
    const head = await call("/rest/v1/notes?done=eq.true", {
      method: "HEAD",
      headers: { ...SERVICE, "Accept-Profile": BLOCK, Prefer: "count=exact" },
    });
    expect(head.status).toBe(200);
    expect(head.headers.get("Content-Range")).toBe("0-1/2");
    expect(await head.text()).toBe("");
  });

  it("clamps a huge limit or range to the page size instead of failing", async () => {
    expect(await ids("limit=999999999999999&order=id")).toHaveLength(5);
    expect(await ids("order=id", { Range: "0-999999999999" })).toHaveLength(5);
  });

  it("answers one object for vnd.pgrst.object+json, and 406 PGRST116 for 0 or 2+ rows", async () => {
    const one = await get("id=eq.a", { Accept: "application/vnd.pgrst.object+json" });
    expect(one.status).toBe(200);
    expect(await one.json()).toMatchObject({ id: "a", title: "Plan the trip" });
    const many = await failure(await get("done=eq.true", { Accept: "application/vnd.pgrst.object+json" }), 406);
    expect(many).toMatchObject({ code: "PGRST116", details: "The result contains 2 rows", actorbaseCode: "NOT_ACCEPTABLE" });
    const none = await failure(await get("id=eq.zzz", { Accept: "application/vnd.pgrst.object+json" }), 406);
    expect(none.details).toBe("The result contains 0 rows");
    expect((await failure(await get("", { Accept: "text/csv" }), 406)).code).toBe("PGRST107");
  });
});

describe("PostgREST bad input", () => {
  it("answers a clear 4xx for malformed filters, unknown operators and columns, never a 5xx", async () => {
    const cases: [string, number, string][] = [
      ["title=plan", 400, "PGRST100"],
      ["title=zz.plan", 400, "PGRST100"],
      ["title=match.^p", 400, "PGRST100"],
      ["title=like(any).{a,b}", 400, "PGRST100"],
      ["nope=eq.1", 400, "42703"],
      ["select=nope", 400, "42703"],
      ["order=nope.asc", 400, "42703"],
      ["order=title.sideways", 400, "PGRST100"],
      ["priority=eq.high", 400, "22P02"],
      ["or=(title.eq.a", 400, "PGRST100"],
      ["or=title.eq.a", 400, "PGRST100"],
      ["or=(title)", 400, "PGRST100"],
      ["limit=-1", 400, "PGRST100"],
      ["offset=abc", 400, "PGRST100"],
      ["offset=100000000", 400, "PGRST100"],
      ["search=eq.plan", 400, "42703"],
      ["cursor=eq.x", 400, "42703"],
      ["select=id,author(name)", 400, "PGRST200"],
      ["select=count()", 400, "PGRST123"],
      ["select=priority.sum()", 400, "PGRST123"],
      ["select=title::text", 400, "PGRST100"],
      ["author.name=eq.x", 400, "PGRST108"],
      ["data->>a=eq.1", 400, "PGRST100"],
      ["limit=1&limit=2", 400, "PGRST100"],
      [`or=(${"and(".repeat(40)}id.eq.a${")".repeat(40)})`, 400, "PGRST100"],
      [`title=in.(${"x,".repeat(9000)}x)`, 400, "PGRST100"],
    ];
    for (const [query, status, code] of cases) {
      const body = await failure(await get(query), status);
      expect([query, body.code]).toEqual([query, code]);
    }
  });

  it("answers garbage in any part of the request with a 2xx or a 4xx, never a 5xx", async () => {
    const junk = [
      "",
      ".",
      "..",
      "(",
      ")",
      "((",
      "))",
      ",",
      '"',
      "\\",
      "%00",
      "%FF",
      "%E2%82",
      "*",
      "eq.",
      "not.",
      "not.not.eq.1",
      "in.()",
      "in.(,)",
      "cs.{",
      "cs.[1",
      "fts.",
      "fts().x",
      "is.",
      "a".repeat(5000),
    ];
    const keys = ["title", "priority", "tags", "or", "and", "not.or", "select", "order", "limit", "offset", "columns", "on_conflict", "id"];
    for (const key of keys) {
      for (const value of junk) {
        const response = await get(`${key}=${value}`);
        expect(response.status, `${key}=${value.slice(0, 40)}`).toBeLessThan(500);
        await response.body?.cancel();
      }
    }
    for (const [name, value] of [
      ["Prefer", "count"],
      ["Prefer", "=,;="],
      ["Range", "-"],
      ["Range", "1-"],
      ["Accept", ";;"],
      ["Accept-Profile", "%"],
      ["Accept-Profile", "user:a/b"],
    ]) {
      const response = await get("order=id", { [name as string]: value as string });
      expect(response.status, `${name}: ${value}`).toBeLessThan(500);
      await response.body?.cancel();
    }
  });

  it("refuses bad Prefer values and tx=rollback with 400, and a backwards Range with 416", async () => {
    for (const prefer of ["return=everything", "count=roughly", "resolution=overwrite", "tx=rollback", "handling=strict, frobnicate"]) {
      const body = await failure(await get("", { Prefer: prefer }), 400);
      expect(body.code, prefer).toBe("PGRST122");
    }
    expect(await ids("order=id&limit=1", { Prefer: "timezone=UTC, handling=lenient, missing=default" })).toEqual(["a"]);
    expect((await failure(await get("", { Range: "5-2" }), 416)).code).toBe("PGRST103");
    expect((await failure(await get("", { Range: "bytes" }), 400)).code).toBe("PGRST100");
  });

  it("needs a profile naming a block, and answers PGRST106 for a missing, malformed or unknown one", async () => {
    const missing = await failure(await call("/rest/v1/notes", { headers: SERVICE }), 400);
    expect(missing).toMatchObject({ code: "PGRST106", actorbaseCode: "INVALID_BLOCK" });
    expect(missing.message).toContain("Accept-Profile");
    const post = await failure(await call("/rest/v1/notes", { method: "POST", headers: { ...SERVICE, "Accept-Profile": BLOCK } }), 400);
    expect(post.message).toContain("Content-Profile");
    expect((await failure(await call("/rest/v1/notes", { headers: { ...SERVICE, "Accept-Profile": "user:" } }), 400)).code).toBe(
      "PGRST106",
    );
    expect((await failure(await call("/rest/v1/notes", { headers: { ...SERVICE, "Accept-Profile": "nope:x" } }), 404)).code).toBe(
      "PGRST106",
    );
    expect((await failure(await call("/rest/v1/tasks", { headers: { ...SERVICE, "Accept-Profile": BLOCK } }), 404)).code).toBe("PGRST205");
  });

  it("answers RPC with 400 on both route families", async () => {
    for (const path of ["/rest/v1/rpc/hello", `/api/rest/${BLOCK}/rpc/hello`]) {
      const body = await failure(await call(path, { method: "POST", headers: SERVICE }), 400);
      expect(body).toMatchObject({ code: "PGRST202", actorbaseCode: "NOT_SUPPORTED" });
    }
  });

  it("refuses writes without a filter or with list parameters, and bodies that are not JSON", async () => {
    const write = (method: string, query: string, body?: string, type = "application/json") =>
      call(`/rest/v1/notes?${query}`, {
        method,
        headers: { ...SERVICE, "Content-Profile": BLOCK, "Content-Type": type },
        ...(body ? { body } : {}),
      });
    expect((await failure(await write("PATCH", "", '{"done":true}'), 400)).message).toContain("at least one filter");
    expect((await failure(await write("DELETE", ""), 400)).message).toContain("at least one filter");
    expect((await failure(await write("DELETE", "id=eq.a&limit=1"), 400)).actorbaseCode).toBe("NOT_SUPPORTED");
    expect((await failure(await write("POST", "id=eq.a", "{}"), 400)).code).toBe("PGRST100");
    expect((await failure(await write("POST", "", "{nope"), 400)).code).toBe("PGRST102");
    expect((await failure(await write("POST", "", "{}", "text/plain"), 415)).actorbaseCode).toBe("UNSUPPORTED_MEDIA_TYPE");
    expect((await failure(await write("POST", "columns=nope", "[]"), 400)).code).toBe("42703");
    expect((await failure(await write("POST", "on_conflict=id,title", "[]"), 400)).actorbaseCode).toBe("NOT_SUPPORTED");
    expect(await ids("order=id")).toEqual(["a", "b", "c", "d", "e"]);
  });
});

describe("PostgREST auth", () => {
  it("treats ANON_KEY as a bearer or apikey as the anonymous caller, and lets a user's bearer win over apikey", async () => {
    const anon = { Authorization: `Bearer ${TEST_SECRETS.ANON_KEY}`, "Accept-Profile": BLOCK };
    const denied = await failure(await call("/rest/v1/notes", { headers: anon }), 401);
    expect(denied).toMatchObject({ code: "42501", actorbaseCode: "AUTH_REQUIRED" });
    expect((await call("/rest/v1/notes", { headers: { apikey: TEST_SECRETS.ANON_KEY, "Accept-Profile": BLOCK } })).status).toBe(401);
    const posts = await call("/rest/v1/posts", { headers: { apikey: TEST_SECRETS.ANON_KEY, "Accept-Profile": "public" } });
    expect(posts.status).toBe(200);
    const owner = await as("pgrst1");
    const mine = await call("/rest/v1/notes?select=id&limit=1", {
      headers: { ...owner, apikey: TEST_SECRETS.ANON_KEY, "Accept-Profile": BLOCK },
    });
    expect(mine.status).toBe(200);
    const stranger = await as("someone-else");
    expect((await failure(await call("/rest/v1/notes", { headers: { ...stranger, "Accept-Profile": BLOCK } }), 403)).code).toBe("42501");
  });

  it("refuses an apikey that is neither the anon key, a JWT nor the service key", async () => {
    expect((await call("/rest/v1/posts", { headers: { apikey: "not-the-key", "Accept-Profile": "public" } })).status).toBe(401);
    expect((await call("/api/health", { headers: { Authorization: "Bearer not-the-key" } })).status).toBe(401);
  });
});

describe("PostgREST writes in workerd", () => {
  const WRITES = "user:pgrst2";
  const send = (method: string, query: string, body: unknown, headers: Record<string, string> = {}) =>
    call(`/rest/v1/notes?${query}`, {
      method,
      headers: { ...SERVICE, "Content-Profile": WRITES, "Content-Type": "application/json", ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  it("inserts only the keys columns= names, and strips nulls when Accept asks", async () => {
    const response = await send("POST", 'columns="id","title"&select=id,title,body,priority', [{ id: "k1", title: "kept", priority: 7 }], {
      Prefer: "return=representation",
      Accept: "application/vnd.pgrst.array+json;nulls=stripped",
    });
    expect(response.status).toBe(201);
    expect(await response.json()).toEqual([{ id: "k1", title: "kept", priority: 0 }]);
  });

  it("refuses .single() on an insert of two rows before writing anything", async () => {
    const response = await send(
      "POST",
      "",
      [
        { id: "s1", title: "one" },
        { id: "s2", title: "two" },
      ],
      {
        Prefer: "return=representation",
        Accept: "application/vnd.pgrst.object+json",
      },
    );
    expect((await failure(response, 406)).code).toBe("PGRST116");
    const left = await call("/rest/v1/notes?id=in.(s1,s2)", { headers: { ...SERVICE, "Accept-Profile": WRITES } });
    expect(await left.json()).toEqual([]);
  });

  it("honours max-affected with handling=strict, and counts a minimal write in Content-Range", async () => {
    await send("POST", "", [{ title: "m" }, { title: "m" }, { title: "m" }]);
    const refused = await failure(await send("PATCH", "title=eq.m", { done: true }, { Prefer: "handling=strict, max-affected=2" }), 400);
    expect(refused).toMatchObject({ code: "PGRST124", details: "The query affects 3 rows" });
    const done = await send("PATCH", "title=eq.m", { done: true }, { Prefer: "handling=strict, max-affected=3, count=exact" });
    expect([done.status, done.headers.get("Content-Range"), await done.text()]).toEqual([204, "*/3", ""]);
    const gone = await send("DELETE", "title=eq.m&select=title", undefined, { Prefer: "return=representation,count=exact" });
    expect([gone.status, gone.headers.get("Content-Range")]).toEqual([200, "0-2/3"]);
    expect(await gone.json()).toEqual([{ title: "m" }, { title: "m" }, { title: "m" }]);
  });

  it("checks .single() on a PATCH in the write itself: two matches change nothing", async () => {
    await send("POST", "", [
      { id: "one1", title: "pair" },
      { id: "one2", title: "pair" },
    ]);
    const refused = await send(
      "PATCH",
      "title=eq.pair",
      { done: true },
      { Prefer: "return=representation", Accept: "application/vnd.pgrst.object+json" },
    );
    expect(await failure(refused, 406)).toMatchObject({ code: "PGRST116", details: "The result contains 2 rows" });
    const left = await call("/rest/v1/notes?title=eq.pair&select=done", { headers: { ...SERVICE, "Accept-Profile": WRITES } });
    expect(await left.json()).toEqual([{ done: false }, { done: false }]);
    const one = await send("DELETE", "id=eq.one1&select=id", undefined, {
      Prefer: "return=representation",
      Accept: "application/vnd.pgrst.object+json",
    });
    expect([one.status, await one.json()]).toEqual([200, { id: "one1" }]);
  });

  it("answers a lone surrogate in an ignore-duplicates insert with 400, and too many rows with 413 before any lookup", async () => {
    const surrogate = await call("/rest/v1/notes", {
      method: "POST",
      headers: { ...SERVICE, "Content-Profile": WRITES, "Content-Type": "application/json", Prefer: "resolution=ignore-duplicates" },
      body: '[{"id":"\\ud800","title":"x"}]',
    });
    expect(surrogate.status).toBe(400);
    const many = Array.from({ length: 1_001 }, (_, i) => ({ id: `many${i}`, title: "m" }));
    const started = Date.now();
    const refused = await send("POST", "", many, { Prefer: "resolution=ignore-duplicates" });
    expect(refused.status).toBe(413);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("keeps a top-level quoted value literal in writes by filter too", async () => {
    await send("POST", "", { id: "q1", title: '"quoted"' });
    const patched = await send("PATCH", 'title=eq."quoted"&select=id', { done: true }, { Prefer: "return=representation" });
    expect(await patched.json()).toEqual([{ id: "q1" }]);
  });
});

describe("PostgREST routes behind the platform's middleware", () => {
  it("answers an expired token with PostgREST's error fields, not only problem+json", async () => {
    const response = await call("/rest/v1/notes?select=*", {
      headers: { Authorization: `Bearer ${await token("alice", {}, -60)}`, "Accept-Profile": "user:alice" },
    });
    expect(response.status).toBe(401);
    const body = (await response.json()) as PgError;
    expect(body.message).toEqual(expect.any(String));
    expect(body.message.length).toBeGreaterThan(0);
    expect(body.actorbaseCode).toBe("TOKEN_EXPIRED");
  });

  it("is counted by the platform rate limiter like the native API", async () => {
    const response = await call("/rest/v1/notes?select=id", {
      headers: { ...(await as("pgrst-limited")), "Accept-Profile": "user:pgrst-limited" },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("RateLimit-Policy")).not.toBeNull();
    expect(response.headers.get("RateLimit")).not.toBeNull();
  });
});
