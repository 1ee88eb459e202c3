/**
 * Export and import between two real servers with the shipped scripts: a block of 100,000 rows is
 * backed up with `npm run backup` from the suite's server and restored with `npm run restore` into a
 * fresh server; every row and the seq must match. The fresh server's memory is read while it imports.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
// @ts-expect-error plain ESM script without type declarations
import { ROOT, startServer } from "../../scripts/server.mjs";
import { SERVICE_HEADERS, baseUrl, unique } from "./helpers";
import { E2E_VARS } from "./secrets";

type Row = Record<string, unknown> & { id: string };
const ROWS = 100_000;

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Every row of a block's tasks, paged by cursor, and the seq of the last page. */
async function allRows(url: string, block: string): Promise<{ rows: Row[]; seq: number }> {
  const rows: Row[] = [];
  let cursor: string | null = null;
  let seq = 0;
  do {
    const query: string = `limit=1000&order=id.asc${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
    const response = await fetch(`${url}/api/db/${block}/tables/tasks?${query}`, { headers: SERVICE_HEADERS });
    expect(response.status).toBe(200);
    const page = (await response.json()) as { items: Row[]; nextCursor: string | null };
    rows.push(...page.items);
    cursor = page.nextCursor;
    seq = Number(response.headers.get("X-Seq"));
  } while (cursor);
  return { rows, seq };
}

/** Runs an npm script of this project; resolves with its exit code and output. */
async function npmRun(args: string[]): Promise<{ code: number; output: string }> {
  const child = spawn("node", args, {
    cwd: ROOT,
    env: { ...process.env, SERVICE_KEY: E2E_VARS.SERVICE_KEY },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk) => (output += chunk));
  child.stderr.on("data", (chunk) => (output += chunk));
  const [code] = await once(child, "exit");
  return { code: code as number, output };
}

/** Resident memory of a process in MiB (Linux /proc). */
function rssMiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(match?.[1] ?? 0) / 1024;
}

describe("backup and restore between servers", () => {
  it(`moves a block of ${ROWS.toLocaleString("en-US")} rows to a fresh server with identical rows and seq`, {
    timeout: 240_000,
  }, async () => {
    const started = Date.now();
    const phase = (name: string) => console.log(`${name}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const block = `workspace:${unique("big")}`;
    const writes: Promise<Response>[] = [];
    for (let start = 0; start < ROWS; start += 1_000) {
      const batch = Array.from({ length: 1_000 }, (_, i) => ({ title: `task ${start + i}`, status: "doing", points: start + i }));
      writes.push(
        fetch(`${baseUrl()}/api/db/${block}/tables/tasks`, {
          method: "POST",
          headers: { ...SERVICE_HEADERS, "Content-Type": "application/json" },
          body: JSON.stringify(batch),
        }),
      );
      if (writes.length === 4) expect((await Promise.all(writes.splice(0))).map((r) => r.status)).toEqual([201, 201, 201, 201]);
    }
    await Promise.all(writes);
    phase("written");
    const source = await allRows(baseUrl(), block);
    expect(source.rows).toHaveLength(ROWS);
    phase("read back");

    const out = mkdtempSync(join(tmpdir(), "actorbase-backup-"));
    dirs.push(out);
    const backup = await npmRun(["scripts/backup.mjs", "--url", baseUrl(), "--out", out, block]);
    expect(backup.code, backup.output).toBe(0);
    const file = join(out, `${block}.ndjson`);
    expect(backup.output).toContain(`${block}: ${ROWS} rows exported`);
    phase("exported");
    console.log(`export of ${ROWS} rows: ${(statSync(file).size / 2 ** 20).toFixed(1)} MiB of NDJSON`);

    const data = mkdtempSync(join(tmpdir(), "actorbase-restore-"));
    dirs.push(data);
    const fresh = await startServer({ persistTo: data, vars: E2E_VARS });
    try {
      // npm start's child is workerd itself; wrangler dev's is its node CLI, whose memory says nothing here.
      const measured = fresh.server === "workerd";
      const before = measured ? rssMiB(fresh.child.pid) : 0;
      let peak = before;
      const sampler = setInterval(() => {
        if (measured) peak = Math.max(peak, rssMiB(fresh.child.pid));
      }, 50);
      const restore = await npmRun(["scripts/backup.mjs", "--restore", "--url", fresh.url, file]);
      clearInterval(sampler);
      expect(restore.code, restore.output).toBe(0);
      phase("imported");
      if (measured) console.log(`restore on workerd: RSS ${before.toFixed(0)} MiB before, ${peak.toFixed(0)} MiB peak while importing`);
      const copy = await allRows(fresh.url, block);
      expect(copy.seq).toBe(source.seq);
      expect(copy.rows).toEqual(source.rows);
      phase("compared");
      const again = await npmRun(["scripts/backup.mjs", "--restore", "--url", fresh.url, file]);
      expect(again.code).toBe(1);
      expect(again.output).toContain("409");
    } finally {
      await fresh.stop();
    }
  });

  it("backs up every block the catalog lists when no block is named", async () => {
    const blocks = [`workspace:${unique("cat-a")}`, `workspace:${unique("cat-b")}`];
    for (const [i, block] of blocks.entries()) {
      const rows = Array.from({ length: i + 2 }, (_, j) => ({ title: `t${j}` }));
      const response = await fetch(`${baseUrl()}/api/db/${block}/tables/tasks`, {
        method: "POST",
        headers: { ...SERVICE_HEADERS, "Content-Type": "application/json" },
        body: JSON.stringify(rows),
      });
      expect(response.status).toBe(201);
    }
    // The catalog hears of a block within 5 s of its first request.
    const listed = async (): Promise<string[]> => {
      const response = await fetch(`${baseUrl()}/api/admin/blocks?namespace=workspace&limit=1000`, { headers: SERVICE_HEADERS });
      return ((await response.json()) as { items: { name: string }[] }).items.map((item) => item.name);
    };
    const deadline = Date.now() + 20_000;
    let listedNames: string[] = [];
    while (!blocks.every((block) => listedNames.includes(block)) && Date.now() < deadline) {
      listedNames = await listed();
      if (!blocks.every((block) => listedNames.includes(block))) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(listedNames).toEqual(expect.arrayContaining(blocks));
    const out = mkdtempSync(join(tmpdir(), "actorbase-backup-all-"));
    dirs.push(out);
    const backup = await npmRun(["scripts/backup.mjs", "--url", baseUrl(), "--out", out, "--namespace", "workspace"]);
    expect(backup.code, backup.output).toBe(0);
    expect(backup.output).toContain(`${blocks[0]}: 2 rows exported`);
    expect(backup.output).toContain(`${blocks[1]}: 3 rows exported`);
    for (const block of blocks) expect(readFileSync(join(out, `${block}.ndjson`), "utf8")).toContain('"end":true');
  });
});
