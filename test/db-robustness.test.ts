import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { databaseFor } from "../objects/database/contract";
import { SERVICE, as, call, jsonInit, problem } from "./helpers/http";

type Row = Record<string, unknown> & { id: string };
type Page = { items: Row[]; nextCursor: string | null };

describe("database routes with odd input", () => {
  it("answers 400, not 500, for a table name that is not valid percent-encoding", async () => {
    const response = await call("/api/db/user:odd1/tables/%E0", { headers: SERVICE });
    expect(response.status).toBe(400);
    expect(await problem(response)).toMatchObject({ code: "INVALID_TABLE" });
  });

  it("treats control characters in search text as plain text, not a 500", async () => {
    const block = "user:odd2";
    await call(`/api/db/${block}/tables/notes`, jsonInit("POST", { title: "hello world" }, SERVICE));
    for (const text of ["%00", "hello%00", "%22%00%22", "hello%01world"]) {
      const response = await call(`/api/db/${block}/tables/notes?search=${text}`, { headers: SERVICE });
      expect(response.status, text).toBe(200);
    }
    const found = (await (await call(`/api/db/${block}/tables/notes?search=hello%00`, { headers: SERVICE })).json()) as Page;
    expect(found.items.map((r) => r.title)).toEqual(["hello world"]);
  });

  it("refuses strings with lone surrogates (422) instead of storing them altered", async () => {
    const block = "user:odd3";
    const bad = [{ title: "a\ud800b" }, { title: "ok", body: "\udc00" }, { title: "ok", tags: ["x", "\ud83d"] }];
    for (const data of bad) {
      const response = await call(`/api/db/${block}/tables/notes`, jsonInit("POST", data, SERVICE));
      expect(response.status, JSON.stringify(data)).toBe(422);
    }
    const ok = await call(`/api/db/${block}/tables/notes`, jsonInit("POST", { id: "e", title: "emoji \u{1F600}" }, SERVICE));
    expect(ok.status).toBe(201);
    const patch = await call(`/api/db/${block}/tables/notes/e`, jsonInit("PATCH", { tags: { $append: "\ud800" } }, SERVICE));
    expect(patch.status).toBe(422);
    const row = (await (await call(`/api/db/${block}/tables/notes/e`, { headers: SERVICE })).json()) as Row;
    expect(row).toMatchObject({ title: "emoji \u{1F600}", tags: null, version: 1 });
    const all = (await (await call(`/api/db/${block}/tables/notes`, { headers: SERVICE })).json()) as Page;
    expect(all.items).toHaveLength(1);
  });

  it("pages through rows ordered by a long text column (the cursor does not count toward the filter length)", async () => {
    const block = "user:odd4";
    const long = (c: string): string => c.repeat(3_000);
    await call(
      `/api/db/${block}/tables/notes`,
      jsonInit(
        "POST",
        ["a", "b", "c"].map((c) => ({ title: c, body: long(c) })),
        SERVICE,
      ),
    );
    const first = (await (
      await call(`/api/db/${block}/tables/notes?order=body&limit=1&select=title`, { headers: SERVICE })
    ).json()) as Page;
    expect(first.items).toEqual([{ title: "a" }]);
    const second = await call(`/api/db/${block}/tables/notes?order=body&limit=1&select=title&cursor=${first.nextCursor}`, {
      headers: SERVICE,
    });
    expect(second.status).toBe(200);
    expect(((await second.json()) as Page).items).toEqual([{ title: "b" }]);
  });
});

describe("wide filters against SQLite's limits (100 bound values, expression depth 100)", () => {
  it("matches an in. list of 500 values", async () => {
    const block = "user:odd11";
    await call(
      `/api/db/${block}/tables/notes`,
      jsonInit(
        "POST",
        [
          { id: "k7", title: "x" },
          { id: "k499", title: "y" },
          { id: "zz", title: "z" },
        ],
        SERVICE,
      ),
    );
    const ids = Array.from({ length: 500 }, (_, i) => `k${i}`).join(",");
    const response = await call(`/api/db/${block}/tables/notes?id=in.(${ids})&select=id`, { headers: SERVICE });
    expect(response.status).toBe(200);
    expect(((await response.json()) as Page).items).toEqual([{ id: "k499" }, { id: "k7" }]);
    const negated = (await (await call(`/api/db/${block}/tables/notes?id=not.in.(${ids})&select=id`, { headers: SERVICE })).json()) as Page;
    expect(negated.items).toEqual([{ id: "zz" }]);
  });

  it("answers 400 FILTER_TOO_COMPLEX, not 500, for filters SQLite cannot run", async () => {
    const block = "user:odd12";
    await call(`/api/db/${block}/tables/notes`, jsonInit("POST", { id: "a", title: "x" }, SERVICE));
    const wide = [
      `or=(${Array.from({ length: 500 }, () => "id.eq.").join(",")})`,
      Array.from({ length: 500 }, () => "id=eq.").join("&"),
      `or=(${Array.from({ length: 300 }, () => "tags.cs.[]").join(",")})`,
    ];
    for (const query of wide) {
      const response = await call(`/api/db/${block}/tables/notes?${query}`, { headers: SERVICE });
      expect(response.status, query.slice(0, 40)).toBe(400);
      expect(await problem(response)).toMatchObject({ code: "FILTER_TOO_COMPLEX" });
    }
  });
});

describe("client-supplied row ids", () => {
  it("refuses . and .. (422): URLs normalize them away, so such rows could never be read, updated or deleted", async () => {
    const block = "user:odd10";
    for (const id of [".", ".."]) {
      const response = await call(`/api/db/${block}/tables/notes`, jsonInit("POST", { id, title: "x" }, SERVICE));
      expect(response.status, id).toBe(422);
      expect((await problem(response)).errors).toHaveProperty("id");
    }
    const batch = await call(
      `/api/db/${block}/batch`,
      jsonInit("POST", { ops: [{ op: "insert", table: "notes", data: { id: "..", title: "x" } }] }, SERVICE),
    );
    expect(batch.status).toBe(422);
    const dotted = await call(`/api/db/${block}/tables/notes`, jsonInit("POST", { id: "a..b", title: "x" }, SERVICE));
    expect(dotted.status).toBe(201);
    expect((await call(`/api/db/${block}/tables/notes/a..b`, { headers: SERVICE })).status).toBe(200);
    const page = (await (await call(`/api/db/${block}/tables/notes?select=id`, { headers: SERVICE })).json()) as Page;
    expect(page.items).toEqual([{ id: "a..b" }]);
  });
});

describe("deeply nested JSON bodies", () => {
  it("answers 400 JSON_TOO_DEEP, not 500, for nesting past 64 levels, and writes nothing", async () => {
    const block = "user:odd7";
    const nested = (depth: number): string => `${"[".repeat(depth)}${"]".repeat(depth)}`;
    const send = (method: string, path: string, body: string) =>
      call(`/api/db/${block}${path}`, { method, body, headers: { ...SERVICE, "Content-Type": "application/json" } });
    await call(`/api/db/${block}/tables/notes`, jsonInit("POST", { id: "a", title: "a" }, SERVICE));
    for (const depth of [100, 3_000, 100_000]) {
      const attempts = [
        await send("POST", "/tables/notes", `{"title":"d","tags":${nested(depth)}}`),
        await send("PATCH", "/tables/notes/a", `{"tags":{"$append":${nested(depth)}}}`),
        await send("POST", "/batch", `{"ops":[{"op":"insert","table":"notes","data":{"title":"d","tags":${nested(depth)}}}]}`),
      ];
      for (const response of attempts) {
        expect(response.status, `depth ${depth}`).toBe(400);
        expect(await problem(response)).toMatchObject({ code: expect.stringMatching(/^(JSON_TOO_DEEP|INVALID_JSON)$/) });
      }
    }
    const ok = await send("POST", "/tables/notes", `{"title":"d","tags":${nested(60)}}`);
    expect(ok.status).toBe(201);
    const page = (await (await call(`/api/db/${block}/tables/notes?select=id,version`, { headers: SERVICE })).json()) as Page;
    expect(page.items).toHaveLength(2);
    expect(page.items.find((r) => r.id === "a")).toEqual({ id: "a", version: 1 });
  });
});

describe("read caching headers", () => {
  it("marks reads as varying by Authorization, since the ETag is the same for every caller", async () => {
    const block = "user:odd8";
    await call(`/api/db/${block}/tables/notes`, jsonInit("POST", { id: "r", title: "x" }, SERVICE));
    for (const path of ["/tables/notes", "/tables/notes/r"]) {
      const response = await call(`/api/db/${block}${path}`, { headers: SERVICE });
      expect(response.headers.get("Vary") ?? "").toMatch(/Authorization/);
      expect(response.headers.get("Cache-Control")).toBe("private, no-cache");
    }
  });
});

describe("idempotency alarm", () => {
  it("applies a write again when its key expired but the alarm has not removed the record yet", async () => {
    const block = "user:odd9";
    const stub = env.DATABASE.get(env.DATABASE.idFromName(block));
    const headers = { ...SERVICE, "Idempotency-Key": "k-expired" };
    expect((await call(`/api/db/${block}/tables/notes`, jsonInit("POST", { title: "a" }, headers))).status).toBe(201);
    await runInDurableObject(stub, (_instance, state) => {
      state.storage.sql.exec(`UPDATE _idempotency SET expiresAt = ?`, Date.now() - 1);
    });
    const again = await call(`/api/db/${block}/tables/notes`, jsonInit("POST", { title: "a" }, headers));
    expect(again.status).toBe(201);
    expect(again.headers.get("Idempotent-Replayed")).toBeNull();
    const againBody = await again.json();
    const replay = await call(`/api/db/${block}/tables/notes`, jsonInit("POST", { title: "a" }, headers));
    expect(replay.headers.get("Idempotent-Replayed")).toBe("true");
    expect(await replay.json()).toEqual(againBody);
    const page = (await (await call(`/api/db/${block}/tables/notes`, { headers: SERVICE })).json()) as Page;
    expect(page.items).toHaveLength(2);
  });

  it("arms the alarm again for keys stored after an alarm found nothing left to keep", async () => {
    const block = "user:odd5";
    const stub = env.DATABASE.get(env.DATABASE.idFromName(block));
    await call(`/api/db/${block}/tables/notes`, jsonInit("POST", { title: "a" }, { ...SERVICE, "Idempotency-Key": "k1" }));
    await runInDurableObject(stub, (_instance, state) => {
      state.storage.sql.exec(`UPDATE _idempotency SET expiresAt = ?`, Date.now() - 1);
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    await runInDurableObject(stub, async (_instance, state) => {
      expect(await state.storage.getAlarm()).toBeNull();
    });
    await call(`/api/db/${block}/tables/notes`, jsonInit("POST", { title: "b" }, { ...SERVICE, "Idempotency-Key": "k2" }));
    // The alarm rings first for the write's catalog report (within 5 s), then stays set for the record.
    await runInDurableObject(stub, async (_instance, state) => {
      expect(await state.storage.getAlarm()).toBeLessThanOrEqual(Date.now() + 5_000);
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    await runInDurableObject(stub, async (_instance, state) => {
      expect(await state.storage.getAlarm()).toBeGreaterThan(Date.now() + 23 * 3600_000);
    });
  });
});

describe("bulk writes near the size limits", () => {
  it("inserts many rows whose array values are full of quotes (bulk JSON grows on escaping)", async () => {
    const block = "user:odd6";
    const quotes = '"'.repeat(160_000);
    const response = await call(
      `/api/db/${block}/tables/notes`,
      jsonInit(
        "POST",
        [1, 2, 3].map((i) => ({ title: `q${i}`, tags: [quotes] })),
        SERVICE,
      ),
    );
    expect(response.status).toBe(201);
    const page = (await (await call(`/api/db/${block}/tables/notes?select=title`, { headers: await as("odd6") })).json()) as Page;
    expect(page.items).toHaveLength(3);
  });
});

describe("changesSince", () => {
  it("reads non-numeric since and limit (NaN, Infinity) as from the start with the default page", async () => {
    const block = "user:odd13";
    await call(`/api/db/${block}/tables/notes`, jsonInit("POST", [{ title: "a" }, { title: "b" }], SERVICE));
    const db = databaseFor(env, block);
    for (const since of [Number.NaN, Number.NEGATIVE_INFINITY, -5]) {
      const page = await db.changesSince(since, { limit: Number.NaN });
      expect(
        page.changes.map((c) => c.seq),
        String(since),
      ).toEqual([1, 2]);
    }
    expect((await db.changesSince(Number.POSITIVE_INFINITY)).changes).toEqual([]);
    expect((await db.changesSince(0, { limit: 1.5 })).changes.map((c) => c.seq)).toEqual([1]);
  });
});
