import { describe, expect, it } from "vitest";
import { SERVICE_HEADERS, api, token, unique } from "./helpers";

type Row = Record<string, unknown> & { id: string; version: number };

function send(method: string, body: unknown, headers: Record<string, string> = {}): RequestInit {
  return { method, body: JSON.stringify(body), headers: { "Content-Type": "application/json", ...headers } };
}

async function bearer(sub: string, claims: Record<string, unknown> = {}): Promise<Record<string, string>> {
  return { Authorization: `Bearer ${await token(sub, claims)}` };
}

describe("user:<id> notes over real HTTP", () => {
  it("lets the owner create, filter, search, page, update and delete notes, and nobody else see them", async () => {
    const sub = unique("u");
    const owner = await bearer(sub);
    const base = `/api/db/user:${sub}/tables/notes`;
    const created = await api(
      base,
      send(
        "POST",
        [
          { title: "Plan the offsite", body: "venue and agenda", priority: 3, tags: ["work"] },
          { title: "Buy milk", priority: 1 },
          { title: "Plan holidays", body: "beach", priority: 5, done: true },
        ],
        owner,
      ),
    );
    expect(created.status).toBe(201);
    expect(created.headers.get("x-seq")).toBe("3");

    const filtered = await api(`${base}?done=eq.false&order=priority.desc&select=title,priority`, { headers: owner });
    expect(await filtered.json()).toMatchObject({
      items: [
        { title: "Plan the offsite", priority: 3 },
        { title: "Buy milk", priority: 1 },
      ],
      nextCursor: null,
      seq: 3,
    });

    const search = (await (await api(`${base}?search=plan&count=exact`, { headers: owner })).json()) as { items: Row[]; total: number };
    expect(search.total).toBe(2);
    expect(search.items.map((r) => r.title).sort()).toEqual(["Plan holidays", "Plan the offsite"]);

    const first = (await (await api(`${base}?limit=2`, { headers: owner })).json()) as { items: Row[]; nextCursor: string };
    const second = (await (await api(`${base}?limit=2&cursor=${first.nextCursor}`, { headers: owner })).json()) as {
      items: Row[];
      nextCursor: null;
    };
    expect([...first.items, ...second.items].map((r) => r.title)).toEqual(["Plan the offsite", "Buy milk", "Plan holidays"]);
    expect(second.nextCursor).toBeNull();

    const target = first.items[1] as Row;
    const patched = await api(
      `${base}/${target.id}`,
      send("PATCH", { priority: { $inc: 1 }, tags: { $append: "home" } }, { ...owner, "If-Match": `"${target.version}"` }),
    );
    expect(patched.status).toBe(200);
    expect(await patched.json()).toMatchObject({ priority: 2, tags: ["home"], version: 2 });

    const stranger = await bearer(unique("s"));
    expect((await api(base, { headers: stranger })).status).toBe(403);
    expect((await api(`${base}/${target.id}`, { method: "DELETE", headers: stranger })).status).toBe(403);
    expect((await api(base)).status).toBe(401);

    const deleted = await api(`${base}/${target.id}`, { method: "DELETE", headers: owner });
    expect(await deleted.json()).toEqual({ id: target.id, deleted: true });
    expect((await api(`${base}/${target.id}`, { headers: owner })).status).toBe(404);
  });

  it("answers problem+json for bad queries and leaves the data intact", async () => {
    const sub = unique("u");
    const owner = await bearer(sub);
    const base = `/api/db/user:${sub}/tables/notes`;
    await api(base, send("POST", { title: "safe" }, owner));
    for (const query of ["title;DROP TABLE notes=eq.x", "order=title%20desc;--", "limit=5000", "cursor=nope", "priority=7"]) {
      const response = await api(`${base}?${query}`, { headers: owner });
      expect(response.status, query).toBe(400);
      expect(response.headers.get("content-type")).toContain("application/problem+json");
    }
    const list = (await (await api(base, { headers: owner })).json()) as { items: Row[] };
    expect(list.items.map((r) => r.title)).toEqual(["safe"]);
  });

  it("replays an idempotent insert and answers 304 for an unchanged list", async () => {
    const sub = unique("u");
    const owner = await bearer(sub);
    const base = `/api/db/user:${sub}/tables/notes`;
    const key = { ...owner, "Idempotency-Key": unique("k") };
    const first = await api(base, send("POST", { title: "once" }, key));
    const retry = await api(base, send("POST", { title: "once" }, key));
    expect(retry.status).toBe(201);
    expect(retry.headers.get("idempotent-replayed")).toBe("true");
    expect(await retry.json()).toEqual(await first.json());
    const list = await api(base, { headers: owner });
    expect(((await list.json()) as { items: Row[] }).items).toHaveLength(1);
    const etag = list.headers.get("etag") as string;
    expect((await api(base, { headers: { ...owner, "If-None-Match": etag } })).status).toBe(304);
  });
});

describe("workspace:<id> tasks over real HTTP", () => {
  it("lets members work on tasks, admins delete, and keeps other workspaces out", async () => {
    const ws = unique("ws");
    const member = await bearer(unique("m"), { workspaces: [ws] });
    const admin = await bearer(unique("a"), { workspaces: [ws], role: "admin" });
    const outsider = await bearer(unique("o"), { workspaces: ["elsewhere"] });
    const base = `/api/db/workspace:${ws}/tables/tasks`;
    const batch = await api(
      `/api/db/workspace:${ws}/batch`,
      send(
        "POST",
        {
          ops: [
            { op: "insert", table: "tasks", data: { id: "t1", title: "design", points: 3 } },
            { op: "insert", table: "tasks", data: { id: "t2", title: "build", status: "doing", assignee: "m" } },
            { op: "update", table: "tasks", id: "t1", data: { status: "done" } },
          ],
        },
        member,
      ),
    );
    expect(batch.status).toBe(200);
    expect(((await batch.json()) as { results: Row[] }).results.map((r) => r.status)).toEqual(["todo", "doing", "done"]);
    const open = (await (await api(`${base}?status=in.(todo,doing)`, { headers: member })).json()) as { items: Row[] };
    expect(open.items.map((r) => r.id)).toEqual(["t2"]);
    expect((await api(`${base}/t2`, { method: "DELETE", headers: member })).status).toBe(403);
    expect((await api(`${base}/t2`, { method: "DELETE", headers: admin })).status).toBe(200);
    expect((await api(base, { headers: outsider })).status).toBe(403);
    const invalid = await api(base, send("POST", { title: "x", status: "blocked" }, member));
    expect(invalid.status).toBe(422);
    expect(await invalid.json()).toMatchObject({ code: "VALIDATION_FAILED", errors: { status: "must be one of todo, doing, done" } });
  });
});

describe("public posts over real HTTP", () => {
  it("serves posts to anonymous readers and takes writes only from the service key", async () => {
    const title = unique("post");
    const created = await api("/api/db/public/tables/posts", send("POST", { title, body: "hello" }, SERVICE_HEADERS));
    expect(created.status).toBe(201);
    const post = (await created.json()) as Row;
    const read = await api(`/api/db/public/tables/posts?title=eq.${title}`);
    expect(read.status).toBe(200);
    expect(((await read.json()) as { items: Row[] }).items).toEqual([post]);
    expect((await api("/api/db/public/tables/posts", send("POST", { title: "nope" }))).status).toBe(401);
    expect((await api("/api/db/public/tables/posts", send("POST", { title: "nope" }, await bearer("someone")))).status).toBe(403);
    expect((await api(`/api/db/public/tables/posts/${post.id}`, send("PATCH", { title: "x" }, await bearer("someone")))).status).toBe(403);
  });

  // The 413 for oversized bodies, chunked or declared, is in test/e2e/body-limits.test.ts.
  it("answers 415 for a non-JSON body", async () => {
    const text = await api("/api/db/public/tables/posts", {
      method: "POST",
      body: "title=x",
      headers: { ...SERVICE_HEADERS, "Content-Type": "text/plain" },
    });
    expect(text.status).toBe(415);
  });
});

describe("early refusals of large bodies over real HTTP", () => {
  it("answers 400 for a bad If-Match or Idempotency-Key sent with a large body, and 400 JSON_TOO_DEEP, never a 5xx", async () => {
    const sub = unique("u");
    const base = `/api/db/user:${sub}/tables/notes`;
    const big = Array.from({ length: 900 }, (_, i) => ({ title: `t${i}`, body: "x".repeat(900) }));
    const badKey = await api(base, send("POST", big, { ...SERVICE_HEADERS, "Idempotency-Key": "bad key with spaces" }));
    expect(badKey.status).toBe(400);
    const badMatch = await api(`${base}/nope`, send("PATCH", { body: "y".repeat(800_000) }, { ...SERVICE_HEADERS, "If-Match": "v1" }));
    expect(badMatch.status).toBe(400);
    const deep = await api(base, {
      method: "POST",
      body: `{"title":"d","tags":${"[".repeat(5_000)}${"]".repeat(5_000)}}`,
      headers: { ...SERVICE_HEADERS, "Content-Type": "application/json" },
    });
    expect(deep.status).toBe(400);
    expect(((await deep.json()) as { code: string }).code).toBe("JSON_TOO_DEEP");
    const list = (await (await api(base, { headers: SERVICE_HEADERS })).json()) as { items: Row[] };
    expect(list.items).toEqual([]);
  });
});
