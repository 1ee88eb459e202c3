import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { databaseFor } from "../objects/database/contract";
import { SERVICE, as, call, jsonInit, problem } from "./helpers/http";

type Row = Record<string, unknown> & { id: string; version: number };

async function rows(block: string, table = "notes"): Promise<Row[]> {
  return ((await (await call(`/api/db/${block}/tables/${table}?limit=1000`, { headers: SERVICE })).json()) as { items: Row[] }).items;
}

describe("POST /api/db/:block/batch", () => {
  it("runs inserts, updates and deletes in order and answers their results", async () => {
    const block = "user:batch1";
    const seed = (await (
      await call(
        `/api/db/${block}/tables/notes`,
        jsonInit(
          "POST",
          [
            { id: "x", title: "x" },
            { id: "y", title: "y" },
          ],
          SERVICE,
        ),
      )
    ).json()) as { items: Row[] };
    expect(seed.items).toHaveLength(2);
    const response = await call(
      `/api/db/${block}/batch`,
      jsonInit(
        "POST",
        {
          ops: [
            { op: "insert", table: "notes", data: { id: "z", title: "z" } },
            { op: "update", table: "notes", id: "x", data: { priority: { $inc: 5 } }, ifMatch: 1 },
            { op: "delete", table: "notes", id: "y" },
          ],
        },
        SERVICE,
      ),
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("X-Seq")).toBe("5");
    const { results } = (await response.json()) as { results: Row[] };
    expect(results[0]).toMatchObject({ id: "z", version: 1 });
    expect(results[1]).toMatchObject({ id: "x", priority: 5, version: 2 });
    expect(results[2]).toEqual({ id: "y", deleted: true });
    expect((await rows(block)).map((r) => r.id)).toEqual(["x", "z"]);
  });

  it("lets later ops see rows inserted earlier in the same batch, across tables", async () => {
    const ws = "workspace:batch5";
    const response = await call(
      `/api/db/${ws}/batch`,
      jsonInit(
        "POST",
        {
          ops: [
            { op: "insert", table: "tasks", data: { id: "a", title: "a" } },
            { op: "insert", table: "tasks", data: { id: "b", title: "b" } },
            { op: "update", table: "tasks", id: "a", data: { points: { $inc: 2 } } },
            { op: "insert", table: "tasks", data: { id: "c", title: "c" } },
            { op: "delete", table: "tasks", id: "b" },
          ],
        },
        SERVICE,
      ),
    );
    expect(response.status).toBe(200);
    const { results } = (await response.json()) as { results: Row[] };
    expect(results.map((r) => r.id)).toEqual(["a", "b", "a", "c", "b"]);
    expect(results[2]).toMatchObject({ points: 2, version: 2 });
    expect((await rows(ws, "tasks")).map((r) => r.id)).toEqual(["a", "c"]);
    const changes = await databaseFor(env, ws).changesSince(0);
    expect(changes.changes.map((c) => `${c.seq}:${c.op}:${c.id}`)).toEqual([
      "1:insert:a",
      "2:insert:b",
      "3:update:a",
      "4:insert:c",
      "5:delete:b",
    ]);
  });

  it("applies nothing when one op fails, naming the op", async () => {
    const block = "user:batch2";
    await call(`/api/db/${block}/tables/notes`, jsonInit("POST", { id: "keep", title: "keep" }, SERVICE));
    const response = await call(
      `/api/db/${block}/batch`,
      jsonInit(
        "POST",
        {
          ops: [
            { op: "insert", table: "notes", data: { title: "new" } },
            { op: "update", table: "notes", id: "keep", data: { title: "changed" } },
            { op: "delete", table: "notes", id: "missing" },
          ],
        },
        SERVICE,
      ),
    );
    expect(response.status).toBe(404);
    expect((await problem(response)).detail).toMatch(/^ops\[2\]:/);
    expect((await rows(block)).map((r) => r.title)).toEqual(["keep"]);
    expect((await databaseFor(env, block).changesSince(0)).seq).toBe(1);
  });

  it("commits 1,000 ops at once and refuses 1,001 with 413", async () => {
    const block = "user:batch3";
    const ops = Array.from({ length: 1000 }, (_, i) => ({ op: "insert", table: "notes", data: { title: `n${i}` } }));
    const ok = await call(`/api/db/${block}/batch`, jsonInit("POST", { ops }, SERVICE));
    expect(ok.status).toBe(200);
    expect(ok.headers.get("X-Seq")).toBe("1000");
    const tooMany = await call(`/api/db/${block}/batch`, jsonInit("POST", { ops: [...ops, ops[0]] }, SERVICE));
    expect(tooMany.status).toBe(413);
    expect(await problem(tooMany)).toMatchObject({ code: "TOO_MANY_ROWS" });
    expect(await rows(block)).toHaveLength(1000);
  });

  it("answers 400 for malformed ops and 404 for an undeclared table", async () => {
    const bad = await call("/api/db/user:batch4/batch", jsonInit("POST", { ops: [{ op: "upsert", table: "notes" }] }, SERVICE));
    expect(bad.status).toBe(400);
    expect(await problem(bad)).toMatchObject({ code: "INVALID_BATCH" });
    expect((await call("/api/db/user:batch4/batch", jsonInit("POST", [], SERVICE))).status).toBe(400);
    const table = await call("/api/db/user:batch4/batch", jsonInit("POST", { ops: [{ op: "insert", table: "posts", data: {} }] }, SERVICE));
    expect(table.status).toBe(404);
  });
});

describe("Idempotency-Key", () => {
  it("returns the first response to a retry without applying the write again", async () => {
    const block = "user:idem1";
    const headers = { ...SERVICE, "Idempotency-Key": "k-1" };
    const first = await call(`/api/db/${block}/tables/notes`, jsonInit("POST", { title: "once" }, headers));
    expect(first.status).toBe(201);
    const retry = await call(`/api/db/${block}/tables/notes`, jsonInit("POST", { title: "once" }, headers));
    expect(retry.status).toBe(201);
    expect(retry.headers.get("Idempotent-Replayed")).toBe("true");
    expect(retry.headers.get("X-Seq")).toBe("1");
    expect(await retry.json()).toEqual(await first.json());
    expect(await rows(block)).toHaveLength(1);
    const changed = await call(`/api/db/${block}/tables/notes`, jsonInit("POST", { title: "different" }, headers));
    expect(changed.status).toBe(422);
    expect(await problem(changed)).toMatchObject({ code: "IDEMPOTENCY_KEY_REUSED" });
    const reused = await call(
      `/api/db/${block}/batch`,
      jsonInit("POST", { ops: [{ op: "insert", table: "notes", data: { title: "x" } }] }, headers),
    );
    expect(reused.status).toBe(422);
    expect(await problem(reused)).toMatchObject({ code: "IDEMPOTENCY_KEY_REUSED" });
  });

  it("keeps keys per caller, so another caller's key does not collide", async () => {
    const block = "user:idem2";
    const owner = await as("idem2");
    await call(`/api/db/${block}/tables/notes`, jsonInit("POST", { title: "a" }, { ...SERVICE, "Idempotency-Key": "same" }));
    const other = await call(`/api/db/${block}/tables/notes`, jsonInit("POST", { title: "b" }, { ...owner, "Idempotency-Key": "same" }));
    expect(other.status).toBe(201);
    expect(other.headers.get("Idempotent-Replayed")).toBeNull();
    expect(await rows(block)).toHaveLength(2);
  });

  it("does not store a failed write, so a corrected retry with the same key applies", async () => {
    const block = "user:idem3";
    const headers = { ...SERVICE, "Idempotency-Key": "k-3" };
    expect((await call(`/api/db/${block}/tables/notes`, jsonInit("POST", { priority: 1 }, headers))).status).toBe(422);
    expect((await call(`/api/db/${block}/tables/notes`, jsonInit("POST", { title: "ok" }, headers))).status).toBe(201);
  });

  it("forgets keys after 24 hours when the alarm runs", async () => {
    const block = "user:idem4";
    const headers = { ...SERVICE, "Idempotency-Key": "k-4" };
    await call(`/api/db/${block}/tables/notes`, jsonInit("POST", { title: "a" }, headers));
    const stub = env.DATABASE.get(env.DATABASE.idFromName(block));
    await runInDurableObject(stub, async (_instance, state) => {
      // The alarm is set: first for the block's catalog report, then for the record's expiry.
      expect(await state.storage.getAlarm()).not.toBeNull();
      expect(state.storage.sql.exec<{ at: number }>(`SELECT min(expiresAt) AS at FROM _idempotency`).one().at).toBeGreaterThan(
        Date.now() + 23 * 3600_000,
      );
      state.storage.sql.exec(`UPDATE _idempotency SET expiresAt = ?`, Date.now() - 1);
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    await runInDurableObject(stub, (_instance, state) => {
      expect(state.storage.sql.exec(`SELECT count(*) AS n FROM _idempotency`).one().n).toBe(0);
    });
    const again = await call(`/api/db/${block}/tables/notes`, jsonInit("POST", { title: "a" }, headers));
    expect(again.headers.get("Idempotent-Replayed")).toBeNull();
    expect(await rows(block)).toHaveLength(2);
  });

  it("answers 400 for a malformed key", async () => {
    const response = await call("/api/db/user:idem5/tables/notes", jsonInit("POST", { title: "a" }, { ...SERVICE, "Idempotency-Key": "" }));
    expect(response.status).toBe(400);
  });
});

describe("write limits", () => {
  it("answers 413 for a body over the byte limit and writes nothing", async () => {
    const block = "user:limit1";
    const big = "x".repeat(1_100_000);
    const response = await call(`/api/db/${block}/tables/notes`, jsonInit("POST", { title: "t", body: big }, SERVICE));
    expect(response.status).toBe(413);
    expect(await problem(response)).toMatchObject({ code: "BODY_TOO_LARGE" });
    expect(await rows(block)).toHaveLength(0);
  });

  it("accepts 1,000 rows in one insert and refuses 1,001 with 413", async () => {
    const block = "user:limit2";
    const many = Array.from({ length: 1001 }, (_, i) => ({ title: `r${i}` }));
    const tooMany = await call(`/api/db/${block}/tables/notes`, jsonInit("POST", many, SERVICE));
    expect(tooMany.status).toBe(413);
    expect(await problem(tooMany)).toMatchObject({ code: "TOO_MANY_ROWS" });
    const ok = await call(`/api/db/${block}/tables/notes`, jsonInit("POST", many.slice(0, 1000), SERVICE));
    expect(ok.status).toBe(201);
    expect(await rows(block)).toHaveLength(1000);
  });

  it("refuses a title over 200 characters with 422", async () => {
    const response = await call("/api/db/user:limit3/tables/notes", jsonInit("POST", { title: "x".repeat(201) }, SERVICE));
    expect(response.status).toBe(422);
    expect((await problem(response)).errors).toEqual({ title: "must be at most 200 characters" });
  });
});

describe("change log window", () => {
  it("keeps seq gapless across writes and reports the oldest kept seq", async () => {
    const block = "user:window1";
    for (let i = 0; i < 3; i++) await call(`/api/db/${block}/tables/notes`, jsonInit("POST", [{ title: "a" }, { title: "b" }], SERVICE));
    const db = databaseFor(env, block);
    const stub = env.DATABASE.get(env.DATABASE.idFromName(block));
    const page = await db.changesSince(0, { limit: 4 });
    expect(page.changes.map((c) => c.seq)).toEqual([1, 2, 3, 4]);
    expect(page.seq).toBe(6);
    expect((await db.changesSince(4, { table: "notes" })).changes.map((c) => c.seq)).toEqual([5, 6]);
    await runInDurableObject(stub, async (_instance, state) => {
      const { trimChanges } = await import("../objects/database/change-log");
      trimChanges(state.storage.sql, 6, 2);
    });
    const trimmed = await db.changesSince(0);
    expect(trimmed.oldestSeq).toBe(5);
    expect(trimmed.changes.map((c) => c.seq)).toEqual([5, 6]);
  });
});
