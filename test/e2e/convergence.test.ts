/**
 * Convergence: writers do random inserts, updates and deletes (unique ids) over REST while
 * subscribers follow the table through the project's client, their sockets cut at random. At the
 * end every subscriber's view equals a fresh list, and no subscriber saw a change twice or out of
 * order, neither in what the client delivered nor in the raw frames the server sent.
 */
import { afterAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { type ActorbaseClient, type TableChange, createClient } from "../../client/index";
import { baseUrl, token, unique } from "./helpers";

type Task = { id: string; title: string; status: string; points: number | null; version: number };

/** A small seeded PRNG (mulberry32) so a failing run can be replayed from its printed seed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One subscriber: a client whose sockets the test can cut, its view, and what it saw. */
interface Follower {
  name: string;
  filter: string;
  client: ActorbaseClient;
  view: Map<string, Task>;
  delivered: number[];
  raw: Map<string, number[]>;
  resets: number;
  errors: string[];
  /** Cuts the live sockets; returns how many. */
  drop(): number;
}

async function follower(name: string, block: string, jwt: string, filter: string, snapshot: boolean): Promise<Follower> {
  const live = new Set<WebSocket>();
  const raw = new Map<string, number[]>();
  // A `ws` socket that records every change frame the server sends and can be cut without a close handshake.
  class Recording extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols);
      live.add(this);
      this.on("close", () => live.delete(this));
      this.on("message", (data) => {
        const message = JSON.parse(String(data)) as { type: string; sub?: string; seq?: number };
        if (message.type === "change" && message.sub !== undefined && message.seq !== undefined) {
          const seqs = raw.get(message.sub) ?? [];
          seqs.push(message.seq);
          raw.set(message.sub, seqs);
        }
      });
    }
  }
  const client = createClient({ url: baseUrl(), token: jwt, WebSocket: Recording, minReconnectDelayMs: 50, maxReconnectDelayMs: 300 });
  const f: Follower = {
    name,
    filter,
    client,
    view: new Map(),
    delivered: [],
    raw,
    resets: 0,
    errors: [],
    drop: () => {
      const cut = live.size;
      for (const ws of live) ws.terminate();
      return cut;
    },
  };
  const apply = (change: TableChange<Task>) => {
    f.delivered.push(change.seq);
    if (change.op === "delete") f.view.delete(change.row.id);
    else f.view.set(change.row.id, change.row);
  };
  const subscription = client
    .db(block)
    .table<Task>("tasks")
    .subscribe(filter, apply, {
      snapshot,
      onSnapshot: (rows) => {
        for (const row of rows) f.view.set(row.id, row);
      },
      onReset: () => {
        f.resets++;
      },
      onError: (error) => {
        f.errors.push(`${error.code}: ${error.message}`);
      },
    });
  await subscription.ready;
  return f;
}

async function freshList(block: string, jwt: string, filter: string): Promise<Map<string, Task>> {
  const response = await fetch(`${baseUrl()}/api/db/${block}/tables/tasks?limit=1000${filter ? `&${filter}` : ""}`, {
    headers: { Authorization: `Bearer ${jwt}` },
  });
  expect(response.status).toBe(200);
  const page = (await response.json()) as { items: Task[]; nextCursor: string | null };
  expect(page.nextCursor).toBeNull();
  return new Map(page.items.map((row) => [row.id, row]));
}

describe("convergence under random writes and dropped connections", () => {
  const followers: Follower[] = [];
  afterAll(() => {
    for (const f of followers) f.client.close();
  });

  it("leaves every subscriber with exactly a fresh list, each change seen once and in order", async () => {
    const seed = Number(process.env.CONVERGENCE_SEED ?? Date.now() % 1_000_000);
    const rand = random(seed);
    const ws = unique("conv");
    const block = `workspace:${ws}`;
    const jwt = await token("conv-user", { workspaces: [ws], role: "admin" });
    const headers = { Authorization: `Bearer ${jwt}`, "Content-Type": "application/json" };
    const FILTER = "status=in.(todo,doing)";

    followers.push(await follower("all-1", block, jwt, "", false));
    followers.push(await follower("all-2", block, jwt, "", true));
    followers.push(await follower("open-only", block, jwt, FILTER, true));

    const WRITERS = 4;
    const OPS = 45;
    const statuses = ["todo", "doing", "done"];
    const writer = async (w: number): Promise<void> => {
      const mine: string[] = [];
      for (let n = 0; n < OPS; n++) {
        const roll = rand();
        let response: Response;
        if (mine.length === 0 || roll < 0.5) {
          const id = `w${w}-${n}`;
          response = await fetch(`${baseUrl()}/api/db/${block}/tables/tasks`, {
            method: "POST",
            headers,
            body: JSON.stringify({ id, title: `task ${id}`, status: statuses[Math.floor(rand() * 3)], points: n }),
          });
          mine.push(id);
        } else if (roll < 0.8) {
          const id = mine[Math.floor(rand() * mine.length)] as string;
          response = await fetch(`${baseUrl()}/api/db/${block}/tables/tasks/${id}`, {
            method: "PATCH",
            headers,
            body: JSON.stringify({ status: statuses[Math.floor(rand() * 3)], points: { $inc: 1 } }),
          });
        } else {
          const id = mine.splice(Math.floor(rand() * mine.length), 1)[0] as string;
          response = await fetch(`${baseUrl()}/api/db/${block}/tables/tasks/${id}`, { method: "DELETE", headers });
        }
        expect(response.status, `seed ${seed}: ${await response.text()}`).toBeLessThan(300);
        if (rand() < 0.3) await new Promise((r) => setTimeout(r, rand() * 20));
      }
    };

    let writing = true;
    let drops = 0;
    const chaos = (async () => {
      while (writing) {
        await new Promise((r) => setTimeout(r, 40 + rand() * 120));
        const victim = followers[Math.floor(rand() * followers.length)];
        drops += victim?.drop() ?? 0;
      }
    })();
    const late = (async () => {
      await new Promise((r) => setTimeout(r, 400));
      followers.push(await follower("late-snapshot", block, jwt, "", true));
    })();
    await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
    writing = false;
    await Promise.all([chaos, late]);

    const truth = await freshList(block, jwt, "");
    const openTruth = await freshList(block, jwt, FILTER);
    const expected = (f: Follower) => (f.filter ? openTruth : truth);
    const deadline = Date.now() + 15_000;
    const settled = (f: Follower) => JSON.stringify([...f.view.entries()].sort()) === JSON.stringify([...expected(f).entries()].sort());
    while (!followers.every(settled) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));

    for (const f of followers) {
      expect(f.errors, `${f.name} (seed ${seed})`).toEqual([]);
      expect(f.resets, `${f.name} got a reset (seed ${seed})`).toBe(0);
      expect(Object.fromEntries(f.view), `${f.name}'s view differs from a fresh list (seed ${seed})`).toEqual(
        Object.fromEntries(expected(f)),
      );
      for (let i = 1; i < f.delivered.length; i++) {
        expect(f.delivered[i], `${f.name} delivered seq ${f.delivered[i]} after ${f.delivered[i - 1]} (seed ${seed})`).toBeGreaterThan(
          f.delivered[i - 1] as number,
        );
      }
      for (const [sub, seqs] of f.raw) {
        for (let i = 1; i < seqs.length; i++) {
          expect(seqs[i], `${f.name}/${sub}: the server sent seq ${seqs[i]} after ${seqs[i - 1]} (seed ${seed})`).toBeGreaterThan(
            seqs[i - 1] as number,
          );
        }
      }
    }
    expect(followers.find((f) => f.name === "all-1")?.delivered.length).toBeGreaterThan(100);
    expect(drops, "the chaos loop cut no connection").toBeGreaterThan(3);
    console.log(
      `convergence seed ${seed}: ${drops} sockets cut; delivered ${followers.map((f) => `${f.name}=${f.delivered.length}`).join(" ")}`,
    );
  }, 120_000);
});
