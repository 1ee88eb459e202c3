import { describe, expect, it } from "vitest";
import { SERVICE, as, call, jsonInit, problem, token } from "./helpers/http";
import { connect } from "./helpers/realtime";

type Row = Record<string, unknown> & { id: string };
const NDJSON = { "Content-Type": "application/x-ndjson" };

async function exportText(block: string): Promise<string> {
  const response = await call(`/api/admin/blocks/${block}/export`, { headers: SERVICE });
  expect(response.status).toBe(200);
  expect(response.headers.get("Content-Type")).toMatch(/^application\/x-ndjson/);
  return response.text();
}

function importInit(body: BodyInit, headers: Record<string, string> = SERVICE): RequestInit {
  return { method: "POST", body, headers: { ...NDJSON, ...headers } };
}

async function rows(block: string, table: string): Promise<{ items: Row[]; seq: number }> {
  const response = await call(`/api/db/${block}/tables/${table}?limit=1000&order=id.asc`, { headers: SERVICE });
  expect(response.status).toBe(200);
  const page = (await response.json()) as { items: Row[] };
  return { items: page.items, seq: Number(response.headers.get("X-Seq")) };
}

describe("GET /api/admin/blocks/:block/export and POST .../import", () => {
  it("round-trips every row, type and seq into an empty block, and search works there", async () => {
    const notes = [
      { id: "a", title: "alpha ✓", body: 'line\n"quoted"', done: true, priority: -3, tags: ["x", 1, null, { k: [1.5] }] },
      { id: "b", title: "beta", body: null, done: false, priority: 7, tags: null },
    ];
    expect((await call("/api/db/user:exp1/tables/notes", jsonInit("POST", notes, SERVICE))).status).toBe(201);
    expect((await call("/api/db/user:exp1/tables/notes/b", jsonInit("PATCH", { title: "beta 2" }, SERVICE))).status).toBe(200);
    const before = await rows("user:exp1", "notes");
    expect(before.seq).toBe(3);

    const text = await exportText("user:exp1");
    const lines = text
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ format: "actorbase.block", version: 1, block: "user:exp1", seq: 3 });
    expect(lines[0]?.tables).toMatchObject({ notes: { columns: { title: "string", tags: "array" } } });
    expect(lines.at(-1)).toEqual({ end: true, rows: 2 });

    const imported = await call("/api/admin/blocks/user:imp1/import", importInit(text));
    expect(imported.status).toBe(200);
    expect(await imported.json()).toEqual({ rows: 2, tables: { notes: 2 }, seq: 3 });
    const after = await rows("user:imp1", "notes");
    expect(after.items).toEqual(before.items);
    expect(after.seq).toBe(3);
    const search = (await (await call("/api/db/user:imp1/tables/notes?search=alpha", { headers: SERVICE })).json()) as { items: Row[] };
    expect(search.items.map((r) => r.id)).toEqual(["a"]);

    // The log restarts after the imported seq: a subscriber resuming from before it is reset, one at it
    // resumes, and the next write is seq 4.
    const socket = await connect("user:imp1", { protocols: ["actorbase.v1", `bearer.${await token("imp1")}`] });
    await socket.next("ready");
    socket.send({ type: "subscribe", id: "old", table: "notes", since: 1 });
    expect(await socket.next("reset")).toEqual({ type: "reset", sub: "old", reason: "history_truncated" });
    expect(await socket.next("subscribed")).toMatchObject({ id: "old", seq: 3 });
    socket.send({ type: "subscribe", id: "current", table: "notes", since: 3 });
    expect(await socket.next("subscribed")).toMatchObject({ id: "current", seq: 3 });
    const next = await call("/api/db/user:imp1/tables/notes", jsonInit("POST", { title: "gamma" }, SERVICE));
    expect(next.headers.get("X-Seq")).toBe("4");
    expect(await socket.next("change")).toMatchObject({ seq: 4, op: "insert" });
    socket.ws.close(1000);
  });

  it("streams a block larger than one page and imports it whole", async () => {
    for (let start = 0; start < 1_200; start += 400) {
      const batch = Array.from({ length: 400 }, (_, i) => ({ title: `task ${start + i}`, points: start + i }));
      expect((await call("/api/db/workspace:exp-big/tables/tasks", jsonInit("POST", batch, SERVICE))).status).toBe(201);
    }
    const text = await exportText("workspace:exp-big");
    expect(JSON.parse(text.trimEnd().split("\n").at(-1) ?? "")).toEqual({ end: true, rows: 1_200 });
    const imported = await call("/api/admin/blocks/workspace:imp-big/import", importInit(text));
    expect(await imported.json()).toEqual({ rows: 1_200, tables: { tasks: 1_200 }, seq: 1_200 });
    const page = (await (await call("/api/db/workspace:imp-big/tables/tasks?limit=1&count=exact", { headers: SERVICE })).json()) as {
      total: number;
    };
    expect(page.total).toBe(1_200);
  });

  it("refuses a non-empty target with 409 and leaves it as it was", async () => {
    await call("/api/db/user:exp2/tables/notes", jsonInit("POST", { title: "source" }, SERVICE));
    const text = await exportText("user:exp2");
    await call("/api/db/user:imp2/tables/notes", jsonInit("POST", { title: "already here" }, SERVICE));
    const response = await call("/api/admin/blocks/user:imp2/import", importInit(text));
    expect(response.status).toBe(409);
    expect((await problem(response)).code).toBe("BLOCK_NOT_EMPTY");
    expect((await rows("user:imp2", "notes")).items.map((r) => r.title)).toEqual(["already here"]);
  });

  it("imports into a block whose rows were all deleted, moving its seq past the old one", async () => {
    await call("/api/db/user:exp6/tables/notes", jsonInit("POST", { title: "from the source" }, SERVICE));
    const text = await exportText("user:exp6"); // seq 1
    const created = (await (
      await call("/api/db/user:imp6/tables/notes", jsonInit("POST", [{ title: "x" }, { title: "y" }], SERVICE))
    ).json()) as {
      items: Row[];
    };
    for (const row of created.items) await call(`/api/db/user:imp6/tables/notes/${row.id}`, { method: "DELETE", headers: SERVICE });
    const imported = await call("/api/admin/blocks/user:imp6/import", importInit(text));
    expect(imported.status).toBe(200);
    expect(((await imported.json()) as { seq: number }).seq).toBe(5); // it was at 4: the seq never goes back
    const after = await rows("user:imp6", "notes");
    expect(after.items.map((r) => r.title)).toEqual(["from the source"]);
    expect(after.seq).toBe(5);
  });

  it("imports nothing from a truncated or malformed stream (400 naming the line), and the block stays importable", async () => {
    await call("/api/db/user:exp3/tables/notes", jsonInit("POST", [{ title: "one" }, { title: "two" }], SERVICE));
    const text = await exportText("user:exp3");
    const lines = text.trimEnd().split("\n");
    const header = lines[0] as string;
    const row = JSON.parse(lines[1] as string) as { table: string; row: Row };
    const cases: [string, string, RegExp][] = [
      ["truncated (no end line)", lines.slice(0, -1).join("\n"), /truncated/],
      ["cut mid-line", text.slice(0, text.length - 30), /not a JSON|truncated/],
      ["empty", "", /empty/],
      ["not a header", `{"hello":1}\n${lines.slice(1).join("\n")}`, /header/],
      ["wrong count", [...lines.slice(0, -1), '{"end":true,"rows":5}'].join("\n"), /counts 5/],
      ["garbage row", [header, "not json", ...lines.slice(1)].join("\n"), /Line 2: not a JSON/],
      [
        "invalid value",
        [header, JSON.stringify({ table: "notes", row: { ...row.row, id: "z", priority: "high" } }), ...lines.slice(1)].join("\n"),
        /priority/,
      ],
      ["unknown table", [header, JSON.stringify({ table: "ghosts", row: row.row }), ...lines.slice(1)].join("\n"), /not in the header/],
      ["duplicate id", [header, lines[1], ...lines.slice(1)].join("\n"), /appears twice/],
      ["more after the end", `${text}${lines[1]}\n`, /after the end/],
      ["table not declared here", header.replace('"notes"', '"ghosts"'), /cannot be imported here/],
      ["rows after a seq-0 header", [header.replace(/"seq":\d+/, '"seq":0'), ...lines.slice(1)].join("\n"), /seq 0/],
    ];
    for (const [name, body, detail] of cases) {
      const response = await call("/api/admin/blocks/user:imp3/import", importInit(body));
      expect(response.status, name).toBe(400);
      const p = await problem(response);
      expect(p.code, name).toBe("INVALID_IMPORT");
      expect(p.detail, name).toMatch(detail);
      expect((await rows("user:imp3", "notes")).items, name).toEqual([]);
    }
    const ok = await call("/api/admin/blocks/user:imp3/import", importInit(text));
    expect(ok.status).toBe(200);
    expect((await rows("user:imp3", "notes")).items.map((r) => r.title).sort()).toEqual(["one", "two"]);
  });

  it("refuses writes while an import streams in, and loads it once the stream ends", async () => {
    await call("/api/db/user:exp4/tables/notes", jsonInit("POST", { id: "n1", title: "kept" }, SERVICE));
    const text = await exportText("user:exp4");
    const [header, ...rest] = text.split("\n");
    let finish: () => void = () => {};
    const held = new Promise<void>((resolve) => (finish = resolve));
    const encoder = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(encoder.encode(`${header}\n`));
        await held;
        controller.enqueue(encoder.encode(rest.join("\n")));
        controller.close();
      },
    });
    const importing = call("/api/admin/blocks/user:imp4/import", { ...importInit(body), duplex: "half" } as RequestInit);
    await new Promise((r) => setTimeout(r, 200));
    const write = await call("/api/db/user:imp4/tables/notes", jsonInit("POST", { title: "too early" }, SERVICE));
    expect(write.status).toBe(409);
    expect((await problem(write)).code).toBe("IMPORT_IN_PROGRESS");
    const second = await call("/api/admin/blocks/user:imp4/import", importInit(text));
    expect((await problem(second)).code).toBe("IMPORT_IN_PROGRESS");
    finish();
    expect((await importing).status).toBe(200);
    expect((await rows("user:imp4", "notes")).items.map((r) => r.id)).toEqual(["n1"]);
  });

  it("ends an export without its end line when the block changes while it streams", async () => {
    const batch = Array.from({ length: 1_000 }, (_, i) => ({ title: `n${i}` }));
    await call("/api/db/user:exp5/tables/notes", jsonInit("POST", batch, SERVICE));
    const response = await call("/api/admin/blocks/user:exp5/export", { headers: SERVICE });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toContain('"format":"actorbase.block"');
    await call("/api/db/user:exp5/tables/notes", jsonInit("POST", { title: "meanwhile" }, SERVICE));
    let text = "";
    let failed = false;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
    } catch {
      failed = true;
    }
    expect(failed || !text.includes('"end":true')).toBe(true);
    expect(text).not.toContain('"end":true');
  });

  it("takes the service key only, and NDJSON only", async () => {
    const alice = await as("alice");
    expect((await call("/api/admin/blocks/user:alice/export", { headers: alice })).status).toBe(403);
    expect((await call("/api/admin/blocks/user:alice/export")).status).toBe(401);
    expect((await call("/api/admin/blocks/user:alice/import", importInit("{}", alice))).status).toBe(403);
    const wrongType = await call("/api/admin/blocks/user:x/import", {
      method: "POST",
      body: "{}",
      headers: { ...SERVICE, "Content-Type": "application/json" },
    });
    expect(wrongType.status).toBe(415);
    expect((await call("/api/admin/blocks/nope:x/export", { headers: SERVICE })).status).toBe(404);
  });
});
