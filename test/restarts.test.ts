/**
 * Actor restarts inside every multi-step flow: each flow runs once with no restart, once with
 * `abortAllDurableObjects()` between each pair of consecutive steps (one restart per run), and once
 * with a restart between every pair, each run on fresh names. After the last step the flow's
 * invariant must hold exactly: nothing lost, nothing applied or delivered twice.
 */
import { env } from "cloudflare:workers";
import { abortAllDurableObjects, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { listRows } from "../objects/database/reads";
import { databaseFor } from "../objects/database/contract";
import { prepareTable } from "../objects/database/schema";
import type { TableConfig } from "../shared/config";
import type { ChangeEvent } from "../shared/protocol";
import { parseListQuery } from "../shared/query";
import { fetchWorker as call } from "./helpers/direct";
import { SERVICE, jsonInit, token } from "./helpers/http";
import { type TestSocket, connect } from "./helpers/realtime";

type Step = () => Promise<void>;

/** A flow: a fresh instance per run (so names never collide), its steps, and its final check. */
interface Flow {
  steps: Step[];
  /** Runs after the last step; `restarts` is how many restarts this run made. */
  check(restarts: number): Promise<void>;
}

let runCounter = 0;

/** Runs `make` with no restart, a restart at each single step boundary, and a restart at every boundary. */
async function everyRestartPoint(make: (run: string) => Flow): Promise<void> {
  const probe = make("probe");
  const boundaries = probe.steps.length - 1;
  const plans: Array<Set<number>> = [
    new Set(),
    ...Array.from({ length: boundaries }, (_, i) => new Set([i])),
    new Set(Array.from({ length: boundaries }, (_, i) => i)),
  ];
  for (const plan of plans) {
    const run = `r${++runCounter}`;
    const flow = make(run);
    for (const [i, step] of flow.steps.entries()) {
      await step();
      if (plan.has(i)) await abortAllDurableObjects();
    }
    try {
      await flow.check(plan.size);
    } catch (err) {
      throw new Error(`with restarts after steps [${[...plan].join(", ")}]: ${(err as Error).message}`, { cause: err });
    }
  }
}

/**
 * A subscriber that behaves like the client: when its socket dies with the actor, it reconnects and
 * resubscribes with `since` = the last seq it received. Collects every change frame ever received.
 */
class ResumingSubscriber {
  readonly changes: ChangeEvent[] = [];
  /** Sockets opened so far: one, plus one per restart it noticed. */
  connections = 0;
  #socket: TestSocket | null = null;
  #dead = true;
  constructor(
    readonly block: string,
    readonly table: string,
    readonly filter = "",
  ) {}

  /** Makes sure a live, subscribed socket exists (reconnecting after a restart). */
  async ensure(): Promise<void> {
    if (!this.#dead) return;
    const sub = this.block.split(":")[1] as string;
    const socket = await connect(this.block, { protocols: ["actorbase.v1", `bearer.${await token(sub)}`] });
    await socket.next("ready");
    const last = this.changes.at(-1)?.seq;
    socket.send({
      type: "subscribe",
      id: "s",
      table: this.table,
      filter: this.filter,
      ...(last === undefined ? { since: 0 } : { since: last }),
    });
    await socket.next("subscribed");
    this.connections++;
    this.#dead = false;
    socket.ws.addEventListener("message", (event) => {
      const message = JSON.parse(event.data as string) as ChangeEvent;
      if (message.type === "change") this.changes.push(message);
    });
    void socket.closed.then(() => (this.#dead = true));
    this.#socket = socket;
  }

  /** Waits until `count` changes have arrived (reconnecting as needed), then a little for strays. */
  async collect(count: number, timeoutMs = 5_000): Promise<ChangeEvent[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.changes.length < count && Date.now() < deadline) {
      await this.ensure();
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 100));
    return this.changes;
  }

  close(): void {
    this.#socket?.ws.close(1000, "done");
  }
}

async function send(path: string, method: string, body: unknown, headers: Record<string, string> = SERVICE): Promise<Response> {
  return call(path, body === undefined ? { method, headers } : jsonInit(method, body, headers));
}

describe("restarts: write → change log → realtime delivery", () => {
  it("delivers every change once and in order, and the change log holds each once, whatever step the actors restart after", async () => {
    await everyRestartPoint((run) => {
      const block = `user:rs-${run}`;
      const base = `/api/db/${block}/tables/notes`;
      const subscriber = new ResumingSubscriber(block, "notes");
      const write = async (method: string, path: string, body?: unknown) => {
        await subscriber.ensure();
        const response = await send(path, method, body);
        expect(response.status, await response.clone().text()).toBeLessThan(300);
      };
      return {
        steps: [
          () => subscriber.ensure(),
          () => write("POST", base, { id: "a", title: "first" }),
          () =>
            write("POST", base, [
              { id: "b", title: "second" },
              { id: "c", title: "third" },
            ]),
          () => write("PATCH", `${base}/a`, { priority: { $inc: 2 } }),
          () =>
            write("POST", `/api/db/${block}/batch`, {
              ops: [
                { op: "delete", table: "notes", id: "b" },
                { op: "update", table: "notes", id: "c", data: { done: true } },
              ],
            }),
          () => write("DELETE", `${base}/a`),
        ],
        async check(restarts) {
          const seen = await subscriber.collect(7);
          subscriber.close();
          // Each restart cuts the socket; back-to-back restarts may be noticed as one.
          expect(subscriber.connections > 1, "no restart cut the socket").toBe(restarts > 0);
          expect(subscriber.connections).toBeLessThanOrEqual(1 + restarts);
          expect(seen.map((c) => [c.seq, c.op, c.row.id])).toEqual([
            [1, "insert", "a"],
            [2, "insert", "b"],
            [3, "insert", "c"],
            [4, "update", "a"],
            [5, "delete", "b"],
            [6, "update", "c"],
            [7, "delete", "a"],
          ]);
          const log = await databaseFor(env, block).changesSince(0);
          expect(log.changes.map((c) => [c.seq, c.op, c.id])).toEqual(seen.map((c) => [c.seq, c.op, c.row.id]));
          const rows = (await (await send(`${base}?order=id.asc`, "GET", undefined)).json()) as {
            items: Array<{ id: string; done: boolean }>;
            seq: number;
          };
          expect(rows.items.map((r) => [r.id, r.done])).toEqual([["c", true]]);
          expect(rows.seq).toBe(7);
        },
      };
    });
  });
});

describe("restarts: idempotent retry", () => {
  it("applies a write once and replays its first answer to every retry, whatever step the actor restarts after", async () => {
    await everyRestartPoint((run) => {
      const block = `user:ri-${run}`;
      const answers: Array<{ status: number; body: unknown; replayed: string | null }> = [];
      const attempt = (path: string, body: unknown, key: string) => async () => {
        const response = await send(path, "POST", body, { ...SERVICE, "Idempotency-Key": key });
        answers.push({ status: response.status, body: await response.json(), replayed: response.headers.get("Idempotent-Replayed") });
      };
      const insert = attempt(`/api/db/${block}/tables/notes`, { title: "once" }, `k-${run}`);
      const batch = attempt(`/api/db/${block}/batch`, { ops: [{ op: "insert", table: "notes", data: { title: "batched" } }] }, `kb-${run}`);
      return {
        steps: [insert, insert, batch, insert, batch],
        async check() {
          const [first, second, b1, third, b2] = answers;
          expect(first?.status).toBe(201);
          expect(second).toEqual({ ...first, replayed: "true" });
          expect(third).toEqual({ ...first, replayed: "true" });
          expect(b1?.status).toBe(200);
          expect(b2).toEqual({ ...b1, replayed: "true" });
          const list = (await (await send(`/api/db/${block}/tables/notes?order=title.asc`, "GET", undefined)).json()) as {
            items: Array<{ title: string }>;
            seq: number;
          };
          expect(list.items.map((r) => r.title)).toEqual(["batched", "once"]);
          expect(list.seq).toBe(2);
        },
      };
    });
  });
});

describe("restarts: rate-limit window", () => {
  for (const algorithm of ["gcra", "token_bucket", "sliding_window", "fixed_window"]) {
    it(`${algorithm}: admits exactly the limit in one window and debits a retried requestId once, whatever step the actor restarts after`, async () => {
      await everyRestartPoint((run) => {
        const key = `restart-${algorithm}-${run}`;
        const verdicts: boolean[] = [];
        const policy = { limit: 5, periodMs: 3_600_000, algorithm };
        const hit = (body: Record<string, unknown>) => async () => {
          const response = await send(`/api/ratelimit/${key}`, "POST", { ...policy, ...body });
          expect(response.status).toBe(200);
          verdicts.push(((await response.json()) as { allowed: boolean }).allowed);
        };
        return {
          steps: [
            hit({ cost: 2 }),
            hit({ requestId: "once" }),
            hit({ requestId: "once" }),
            hit({ cost: 1 }),
            hit({ cost: 1 }),
            hit({ cost: 1 }),
          ],
          async check() {
            // 2 + 1 (+ the retry, not debited) + 1 + 1 = 5 admitted; the sixth unit is denied.
            expect(verdicts).toEqual([true, true, true, true, true, false]);
            const peek = await send(`/api/ratelimit/${key}?limit=5&periodMs=3600000&algorithm=${algorithm}`, "GET", undefined);
            expect(((await peek.json()) as { remaining: number }).remaining).toBe(0);
          },
        };
      });
    });
  }
});

const V1: TableConfig = { columns: { name: { type: "string", required: true } } };
const V2: TableConfig = {
  columns: { ...V1.columns, rank: { type: "integer", default: 7 } },
  indexes: [{ columns: ["rank"] }],
  search: ["name"],
};
const LIMITS = { maxFilterDepth: 8, maxFilterLength: 4096, maxPageSize: 1000, defaultPageSize: 50 };

describe("restarts: schema migration", () => {
  it("migrates once, keeps every row and fills defaults, whatever step the actor restarts after", async () => {
    await everyRestartPoint((run) => {
      const actor = () => env.DATABASE.get(env.DATABASE.idFromName(`schema-restart-${run}`));
      const inActor = (config: TableConfig, id: string | null) => () =>
        runInDurableObject(actor(), (_instance, state) => {
          const table = prepareTable(state.storage, "items", config);
          if (id !== null)
            state.storage.sql.exec(table.insertSql, ...(config === V1 ? [id, 1, 1, 1, `item ${id}`] : [id, 1, 1, 1, `item ${id}`, 1]));
        });
      return {
        steps: [inActor(V1, "a"), inActor(V1, "b"), inActor(V2, null), inActor(V2, "c"), inActor(V2, null)],
        check: () =>
          runInDurableObject(actor(), (_instance, state) => {
            const table = prepareTable(state.storage, "items", V2);
            const page = listRows(state.storage.sql, table, parseListQuery("order=id.asc&search=item", table.columns, LIMITS), null);
            expect(page.items.map((r) => [r.id, r.rank])).toEqual([
              ["a", 7],
              ["b", 7],
              ["c", 1],
            ]);
            const migrations = state.storage.sql
              .exec<{ change: string }>(`SELECT change FROM _migrations WHERE tbl = 'items' ORDER BY id`)
              .toArray();
            expect(migrations).toHaveLength(2);
          }),
      };
    });
  });
});

describe("restarts: presence", () => {
  it("ends with exactly the members still present, no ghost and no duplicate, whatever step the actor restarts after", async () => {
    await everyRestartPoint((run) => {
      const block = `workspace:rp-${run}`;
      const claims = { workspaces: [`rp-${run}`] };
      // Each member, like the client, rejoins with its last state when its socket died with the actor.
      const members = new Map<string, { socket: TestSocket | null; state: unknown; dead: boolean }>();
      const live = async (name: string): Promise<TestSocket> => {
        const member = members.get(name) as { socket: TestSocket | null; state: unknown; dead: boolean };
        if (member.socket && !member.dead) return member.socket;
        const socket = await connect(block, { protocols: ["actorbase.v1", `bearer.${await token(name, claims)}`] });
        await socket.next("ready");
        member.socket = socket;
        member.dead = false;
        void socket.closed.then(() => (member.dead = true));
        if (member.state !== undefined) {
          socket.send({ type: "presence", channel: "room", state: member.state });
          await socket.next("presence.state");
        }
        return socket;
      };
      const join = (name: string, state: unknown) => async () => {
        members.set(name, members.get(name) ?? { socket: null, state: undefined, dead: true });
        const socket = await live(name);
        const first = (members.get(name) as { state: unknown }).state === undefined;
        (members.get(name) as { state: unknown }).state = state;
        socket.send({ type: "presence", channel: "room", state });
        if (first) await socket.next("presence.state");
        else await new Promise((r) => setTimeout(r, 50));
      };
      const leave = (name: string) => async () => {
        const socket = await live(name);
        socket.send({ type: "presence.leave", channel: "room" });
        (members.get(name) as { state: unknown }).state = undefined;
        await new Promise((r) => setTimeout(r, 50));
        socket.ws.close(1000, "bye");
        members.delete(name);
      };
      return {
        steps: [join("ann", { at: 1 }), join("ben", { at: 2 }), join("ann", { at: 3 }), join("cat", { at: 4 }), leave("ben")],
        async check() {
          for (const name of members.keys()) await live(name);
          const observer = await connect(block, { protocols: ["actorbase.v1", `bearer.${await token("obs", claims)}`] });
          await observer.next("ready");
          observer.send({ type: "presence", channel: "room", state: "observer" });
          const { members: seen } = await observer.next("presence.state");
          const states = Object.values(seen as Record<string, unknown>).map((s) => JSON.stringify(s));
          expect(states.sort()).toEqual(['"observer"', '{"at":3}', '{"at":4}']);
          for (const member of members.values()) member.socket?.ws.close(1000, "done");
          observer.ws.close(1000, "done");
        },
      };
    });
  });
});
