/**
 * The victim data the hostile-input suites guard: rows in blocks the attacking callers have no
 * right to change, seeded with the service key, and a snapshot to prove afterwards that nothing
 * (not even a refused write's change-log sequence) moved.
 */
import { fetchWorker as call } from "./direct";
import { SERVICE, jsonInit } from "./http";

/** Victim tables, by block, with the rows seeded into each. */
export const VICTIM_TABLES = [
  {
    block: "user:victim",
    table: "notes",
    rows: [
      { id: "v-note-1", title: "victim's private note", body: "secret", priority: 3, tags: ["a"] },
      { id: "v-note-2", title: "second", done: true },
    ],
  },
  { block: "workspace:wsvictim", table: "tasks", rows: [{ id: "v-task-1", title: "victim task", status: "doing", points: 5 }] },
  { block: "public", table: "posts", rows: [{ id: "v-post-1", title: "a public post", body: "read only for everyone" }] },
] as const;

/** Seeds every victim table (idempotent: upsert by id). */
export async function seedVictims(): Promise<void> {
  for (const { block, table, rows } of VICTIM_TABLES) {
    const response = await call(`/api/db/${block}/tables/${table}?onConflict=id`, jsonInit("POST", rows, SERVICE));
    if (response.status >= 300) throw new Error(`seeding ${block}/${table} failed: ${response.status} ${await response.text()}`);
  }
}

/** Everything a caller could observe about the victim data: rows, versions and each block's seq. */
export async function victimSnapshot(): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const { block, table } of VICTIM_TABLES) {
    const response = await call(`/api/db/${block}/tables/${table}?order=id.asc&limit=1000`, { headers: SERVICE });
    out.push({ block, table, status: response.status, seq: response.headers.get("X-Seq"), body: await response.json() });
  }
  return out;
}
