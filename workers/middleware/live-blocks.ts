/**
 * One machine's bound on live blocks (docs/operations.md, "Live actors"). On one workerd process
 * every actor a request wakes stays in memory, its SQLite files open, until ~10 s after its last
 * request, and past a few thousand at once opening one more fails (`SQLITE_NOMEM`). So, where
 * `LIVE_ACTORS_MAX` says so (the local servers; `npm run deploy` turns it off: on Cloudflare actors
 * are spread over the network), a request for a block that has not been used in the last
 * ACTOR_IDLE_MS waits while that many blocks have been: a burst of new tenants is slowed down to
 * what the machine can hold instead of failing. A wait longer than MAX_WAIT_MS answers 503.
 */
import { HttpError } from "../../shared/errors";
import type { AppRequest } from "../context";

/** How long a block counts as live after a request: workerd evicts an idle actor after 10 s. */
export const ACTOR_IDLE_MS = 12_000;
/** Longest a request waits for room before it is answered 503 `TRY_AGAIN_LATER`. */
export const MAX_WAIT_MS = 15_000;

type Sleep = (ms: number) => Promise<unknown>;

/** The blocks used within ACTOR_IDLE_MS, by name, least recently used first; an injected clock for tests. */
export class LiveBlocks {
  readonly #lastUse = new Map<string, number>();
  readonly #clock: () => number;
  readonly #sleep: Sleep;

  constructor(clock: () => number = Date.now, sleep: Sleep = (ms) => scheduler.wait(ms)) {
    this.#clock = clock;
    this.#sleep = sleep;
  }

  /** Blocks counted as live now. */
  get size(): number {
    this.#prune(this.#clock());
    return this.#lastUse.size;
  }

  /**
   * Marks `name` as used, once it may be: at once when it is live already or fewer than `max`
   * blocks are, else after the least recently used ones have idled out. Returns the milliseconds
   * waited; throws 503 after MAX_WAIT_MS.
   */
  async admit(name: string, max: number): Promise<number> {
    const started = this.#clock();
    for (;;) {
      const now = this.#clock();
      this.#prune(now);
      if (this.#lastUse.has(name) || this.#lastUse.size < max) {
        this.#lastUse.delete(name);
        this.#lastUse.set(name, now);
        return now - started;
      }
      const left = started + MAX_WAIT_MS - now;
      if (left <= 0) {
        throw new HttpError(503, "TRY_AGAIN_LATER", `This server holds ${max} live blocks (LIVE_ACTORS_MAX); retry shortly.`, {
          headers: { "Retry-After": "1" },
        });
      }
      const oldest = this.#lastUse.values().next().value as number;
      await this.#sleep(Math.max(1, Math.min(oldest + ACTOR_IDLE_MS - now, left)));
    }
  }

  #prune(now: number): void {
    for (const [name, at] of this.#lastUse) {
      if (now - at < ACTOR_IDLE_MS) return;
      this.#lastUse.delete(name);
    }
  }
}

/** This isolate's live blocks (module scope: on one machine the Worker runs in one isolate). */
export const liveBlocks = new LiveBlocks();

const parsed = new Map<string, number>();

/** `LIVE_ACTORS_MAX` as a number: 0 (or empty) is no bound. */
export function liveActorsMax(env: Env): number {
  const value = (env.LIVE_ACTORS_MAX ?? "").trim();
  let max = parsed.get(value);
  if (max === undefined) {
    max = value === "" ? 0 : Number(value);
    if (!Number.isInteger(max) || max < 0)
      throw new HttpError(500, "LIVE_ACTORS_MISCONFIGURED", "LIVE_ACTORS_MAX must be empty or a non-negative integer.");
    parsed.set(value, max);
  }
  return max;
}

/** Route step: waits, if the server is at its bound, until the request's block may be woken. */
export async function admitBlock(request: AppRequest, env: Env): Promise<undefined> {
  const max = liveActorsMax(env);
  const block = request.state.block;
  if (max === 0 || !block) return;
  const waited = await liveBlocks.admit(block.name, max);
  if (waited > 0) request.state.timings.push(`queue;desc="live blocks";dur=${waited}`);
}
