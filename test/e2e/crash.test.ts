/**
 * Durability across a crash: concurrent writers load a real server (the suite's: workerd directly, or
 * `wrangler dev` with its workerd), which is killed with SIGKILL mid-load, and a new server on the same state
 * directory must hold every write acknowledged before the kill, with no batch half applied and a
 * change log that accounts for exactly the rows that exist.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
// @ts-expect-error plain ESM script without type declarations
import { startServer } from "../../scripts/server.mjs";
import { E2E_VARS } from "./secrets";

interface Server {
  url: string;
  child: { pid: number };
  stop(signal?: string): Promise<void>;
}

const SERVICE = { Authorization: `Bearer ${E2E_VARS.SERVICE_KEY}`, "Content-Type": "application/json" };
const BLOCKS = ["workspace:crash-a", "workspace:crash-b", "workspace:crash-c"];
const WRITERS = 9;
const BATCH_ROWS = 4;

type Row = { id: string; points?: number | null; version: number };

/** Live (not zombie) pids among the server's process and its process group, read from /proc (Linux). */
function survivors(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const member = Number(entry) === pid || Number(fields[2]) === pid;
      if (member && fields[0] !== "Z" && fields[0] !== "X") out.push(Number(entry));
    } catch {}
  }
  return out;
}

/** Every row of a block's tasks table, paging with the cursor. */
async function allRows(url: string, block: string): Promise<{ rows: Row[]; seq: number }> {
  const rows: Row[] = [];
  let cursor: string | null = null;
  let seq = 0;
  do {
    const response = await fetch(
      `${url}/api/db/${block}/tables/tasks?limit=1000&order=id.asc${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
      { headers: SERVICE },
    );
    expect(response.status).toBe(200);
    const page = (await response.json()) as { items: Row[]; nextCursor: string | null; seq: number };
    rows.push(...page.items);
    cursor = page.nextCursor;
    seq = page.seq;
  } while (cursor);
  return { rows, seq };
}

describe("durability across SIGKILL", () => {
  const dir = mkdtempSync(join(tmpdir(), "actorbase-crash-"));
  let server: Server | null = null;
  afterAll(async () => {
    await server?.stop("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  it("keeps every acknowledged write, applies each batch wholly or not at all, and its change log matches the rows", async () => {
    server = (await startServer({ persistTo: dir, vars: E2E_VARS })) as Server;
    const first = server;
    // One counter row per writer: every batch bumps it in the same transaction as its inserts.
    for (let w = 0; w < WRITERS; w++) {
      const block = BLOCKS[w % BLOCKS.length] as string;
      const created = await fetch(`${first.url}/api/db/${block}/tables/tasks`, {
        method: "POST",
        headers: SERVICE,
        body: JSON.stringify({ id: `ctr-${w}`, title: "counter", points: 0 }),
      });
      expect(created.status).toBe(201);
    }

    const ackedSingles = new Set<string>();
    const ackedBatches: Array<{ block: string; ids: string[] }> = [];
    const sentBatches: Array<{ block: string; writer: number; ids: string[] }> = [];
    const ackedSeq = new Map<string, number>();
    let acks = 0;
    let cutOff = 0;
    let refusedAfterKill = 0;
    let inFlight = 0;
    let running = true;

    const writer = async (w: number): Promise<void> => {
      const block = BLOCKS[w % BLOCKS.length] as string;
      for (let n = 0; running; n++) {
        const batch = n % 2 === 1;
        const ids = batch ? Array.from({ length: BATCH_ROWS }, (_, k) => `b-${w}-${n}-${k}`) : [`s-${w}-${n}`];
        const request = batch
          ? {
              path: `/api/db/${block}/batch`,
              body: {
                ops: [
                  ...ids.map((id) => ({ op: "insert", table: "tasks", data: { id, title: `batch ${w}/${n}`, points: n } })),
                  { op: "update", table: "tasks", id: `ctr-${w}`, data: { points: { $inc: 1 } } },
                ],
              },
            }
          : { path: `/api/db/${block}/tables/tasks`, body: { id: ids[0], title: `single ${w}/${n}`, points: n } };
        if (batch) sentBatches.push({ block, writer: w, ids });
        let response: Response;
        inFlight++;
        try {
          response = await fetch(first.url + request.path, { method: "POST", headers: SERVICE, body: JSON.stringify(request.body) });
        } catch {
          cutOff++;
          return; // the server died under this request: its outcome is unknown, which the checks allow
        } finally {
          inFlight--;
        }
        if (response.status !== 200 && response.status !== 201) {
          if (!running) {
            refusedAfterKill++;
            return;
          }
          throw new Error(`write refused before the kill: ${response.status} ${await response.text()}`);
        }
        await response.arrayBuffer().catch(() => undefined);
        acks++;
        ackedSeq.set(block, Math.max(ackedSeq.get(block) ?? 0, Number(response.headers.get("X-Seq"))));
        if (batch) ackedBatches.push({ block, ids });
        else ackedSingles.add(`${block} ${ids[0]}`);
      }
    };

    const writers = Array.from({ length: WRITERS }, (_, w) => writer(w));
    const deadline = Date.now() + 20_000;
    while (acks < 300 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(acks).toBeGreaterThan(50);
    const pid = first.child.pid;
    // Writers are sent back to back, so requests are outstanding when the signal goes out. Whether each
    // then fails, or was already answered (a response the dying proxy wrote first), is up to the race.
    const inFlightAtKill = inFlight;
    running = false;
    await first.stop("SIGKILL");
    await Promise.all(writers);
    for (let i = 0; i < 50 && survivors(pid).length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(survivors(pid), "a process of the killed server survived SIGKILL").toEqual([]);
    console.log(`crash: ${inFlightAtKill} requests outstanding at the kill; ${cutOff} cut off, ${refusedAfterKill} refused`);
    expect(inFlightAtKill, "the kill landed between requests, not in the middle of the load").toBeGreaterThan(0);

    server = (await startServer({ persistTo: dir, vars: E2E_VARS })) as Server;
    const after = new Map<string, { rows: Map<string, Row>; seq: number }>();
    for (const block of BLOCKS) {
      const { rows, seq } = await allRows(server.url, block);
      after.set(block, { rows: new Map(rows.map((r) => [r.id, r])), seq });
    }

    // 1. Every acknowledged write is there.
    for (const key of ackedSingles) {
      const [block, id] = key.split(" ") as [string, string];
      expect(after.get(block)?.rows.has(id), `acknowledged insert ${key} is missing after the crash`).toBe(true);
    }
    for (const { block, ids } of ackedBatches) {
      for (const id of ids) expect(after.get(block)?.rows.has(id), `acknowledged batch row ${block} ${id} is missing`).toBe(true);
    }
    // 2. No batch is half applied: all of its rows or none, and its counter bump with them.
    const appliedPerWriter = new Map<number, number>();
    for (const { block, writer: w, ids } of sentBatches) {
      const present = ids.filter((id) => after.get(block)?.rows.has(id)).length;
      expect([0, BATCH_ROWS], `batch ${ids[0]} applied ${present} of ${BATCH_ROWS} rows`).toContain(present);
      if (present === BATCH_ROWS) appliedPerWriter.set(w, (appliedPerWriter.get(w) ?? 0) + 1);
    }
    for (let w = 0; w < WRITERS; w++) {
      const counter = after.get(BLOCKS[w % BLOCKS.length] as string)?.rows.get(`ctr-${w}`);
      expect(counter?.points, `writer ${w}'s counter disagrees with its applied batches`).toBe(appliedPerWriter.get(w) ?? 0);
    }
    // 3. The change log accounts for exactly what exists: one seq per inserted row and per counter bump,
    //    and never behind a seq a client was given.
    for (const block of BLOCKS) {
      const state = after.get(block) as { rows: Map<string, Row>; seq: number };
      const bumps = [...state.rows.values()].filter((r) => r.id.startsWith("ctr-")).reduce((sum, r) => sum + (r.points ?? 0), 0);
      expect(state.seq, `${block}: seq ${state.seq} but ${state.rows.size} rows and ${bumps} updates`).toBe(state.rows.size + bumps);
      expect(state.seq).toBeGreaterThanOrEqual(ackedSeq.get(block) ?? 0);
    }
    // 4. The restarted server takes new writes after the recovered ones.
    const next = await fetch(`${server.url}/api/db/${BLOCKS[0]}/tables/tasks`, {
      method: "POST",
      headers: SERVICE,
      body: JSON.stringify({ title: "after the crash" }),
    });
    expect(next.status).toBe(201);
    expect(Number(next.headers.get("X-Seq"))).toBe((after.get(BLOCKS[0] as string)?.seq ?? 0) + 1);
  }, 240_000);
});
