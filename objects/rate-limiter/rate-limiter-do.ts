import { DurableObject } from "cloudflare:workers";
import { HttpError } from "../../shared/errors";
import { type Decision, type DecideInput, type Lease, DECISION_MODES } from "../../shared/rate-limit/decision";
import type { Policy } from "../../shared/rate-limit/policy";
import { type RpcResult, capture } from "../../shared/rpc";
import type { RateLimiterRpc } from "./contract";
import { checkCost, evaluate } from "./decision";
import { grantLease } from "./lease";
import { LimitStore } from "./storage";

/** Longest time an answer is kept for `requestId` retries. */
const MAX_REMEMBER_MS = 86_400_000;
/** Shortest time an answer is kept for `requestId` retries. */
const MIN_REMEMBER_MS = 60_000;
/**
 * The cleanup alarm never fires sooner than this after it is scheduled, and leaves the states of a
 * key used within this long alone. Under a high limit a key replenishes within milliseconds of each
 * request; cleaning it up right away would delete and recreate its state on every decision.
 */
export const CLEANUP_DELAY_MS = 60_000;
/** Between two sweeps of a cleanup that found more due rows than one sweep takes. */
const SWEEP_PAUSE_MS = 100;

/**
 * The exact, serial decision maker of the rate-limit keys of one shard (contract.ts says which
 * key goes where; with sharding off, of one key). Every decision reads state, decides and writes
 * with no await in between, so concurrent callers of a key are admitted one at a time and never
 * over the limit. The actor's clock is the only clock. Answers come from the exact states in
 * memory, and SQLite gets states written ahead (reserve.ts), so a busy key does not commit on every
 * decision, and a new gcra key commits nothing until it has spent its reserve. One alarm drops the
 * states of keys that have fully replenished and gone unused for a minute, and the whole database
 * once nothing is left.
 */
export class RateLimiterDO extends DurableObject<Env> implements RateLimiterRpc {
  readonly #store: LimitStore;
  /** When this instance last decided or leased (0 after a restart): an actor in use keeps its database. */
  #lastUsedAt = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#store = new LimitStore(ctx.storage);
  }

  /** Decides a request against all its policies (all must allow; a denial debits none). */
  async decide(key: string, input: DecideInput): Promise<RpcResult<Decision>> {
    return capture(async () => {
      checkKey(key);
      checkInput(input.policies, input.cost);
      if (!DECISION_MODES.includes(input.mode))
        throw new HttpError(400, "INVALID_REQUEST", `mode must be one of ${DECISION_MODES.join(", ")}.`);
      const debits = input.mode !== "dry_run" && input.cost > 0;
      const now = Date.now();
      this.#lastUsedAt = now;
      if (debits && input.requestId !== null) {
        const earlier = this.#store.remembered(key, input.requestId, now) as Decision | null;
        if (earlier) return { ...earlier, replayed: true };
      }
      const states = this.#store.readStates(key, input.policies, now, debits);
      const { decision, nextStates } = evaluate(input.policies, states, now, input.cost, debits);
      const answer: Decision = input.mode === "shadow" ? { ...decision, allowed: true, wouldAllow: decision.allowed } : decision;
      let due: number | null;
      if (nextStates) {
        const remember =
          input.requestId === null
            ? undefined
            : { requestId: input.requestId, decision: answer, expiresAt: now + rememberFor(input.policies) };
        due = this.#store.write(
          key,
          input.policies.map((policy, i) => ({ policy, state: nextStates[i] })),
          remember,
        );
      } else {
        due = this.#store.takeCleanupDue();
      }
      if (due !== null) await this.#scheduleCleanup(due);
      return answer;
    });
  }

  /** Reports what the policies allow right now (one unit), changing nothing. */
  async peek(key: string, policies: Policy[]): Promise<RpcResult<Decision>> {
    return capture(() => {
      checkKey(key);
      checkInput(policies, 0);
      const now = Date.now();
      return evaluate(policies, this.#store.readStates(key, policies, now, false), now, 0, false).decision;
    });
  }

  /** Forgets the given policies' state on the key (all its state and remembered answers when null). */
  async reset(key: string, policies: Policy[] | null): Promise<RpcResult<{ cleared: number }>> {
    return capture(() => {
      checkKey(key);
      return { cleared: this.#store.clear(key, policies) };
    });
  }

  /**
   * Debits up to `want` units at once for the platform limiter's in-isolate tier, which then admits
   * from them locally. Granting debits the actor, so the global limit holds across isolates.
   */
  async lease(key: string, policy: Policy, want: number): Promise<RpcResult<Lease>> {
    return capture(async () => {
      checkKey(key);
      checkInput([policy], 1);
      if (!Number.isInteger(want) || want < 1) throw new HttpError(400, "INVALID_REQUEST", "A lease must ask for at least one unit.");
      const now = Date.now();
      this.#lastUsedAt = now;
      const [state] = this.#store.readStates(key, [policy], now);
      const { lease, nextState } = grantLease(policy, state, now, want);
      const due = nextState !== null ? this.#store.write(key, [{ policy, state: nextState }]) : this.#store.takeCleanupDue();
      if (due !== null) await this.#scheduleCleanup(due);
      return lease;
    });
  }

  /**
   * Cleanup: drops expired answers and the fully replenished states of keys unused for
   * CLEANUP_DELAY_MS (storage.ts, `sweep`), a batch at a time; then schedules the next cleanup (soon
   * while due rows are left, else at least CLEANUP_DELAY_MS away) or, when nothing is left and the
   * actor is unused, removes its storage entirely. Safe to run twice.
   */
  override async alarm(): Promise<void> {
    const now = Date.now();
    const inUse = now - this.#lastUsedAt < CLEANUP_DELAY_MS;
    const { next, more } = this.#store.sweep(now, CLEANUP_DELAY_MS);
    if (next === null && !inUse) {
      await this.#store.destroy();
      return;
    }
    const at = more ? now + SWEEP_PAUSE_MS : Math.max(next ?? 0, now + CLEANUP_DELAY_MS);
    this.#store.alarmAt = at;
    await this.ctx.storage.setAlarm(at);
  }

  /**
   * Makes sure a cleanup alarm is pending by `at` (but no sooner than CLEANUP_DELAY_MS away): one
   * alarm serves every key, so a later one is moved earlier, and a recorded time long past (an
   * alarm the runtime gave up retrying) counts as none.
   */
  async #scheduleCleanup(at: number): Promise<void> {
    const now = Date.now();
    const when = Math.max(at, now + CLEANUP_DELAY_MS);
    const pending = this.#store.alarmAt;
    if (pending !== null && pending <= when && pending > now - CLEANUP_DELAY_MS) return;
    this.#store.alarmAt = when;
    await this.ctx.storage.setAlarm(when);
  }
}

function checkKey(key: string): void {
  if (typeof key !== "string" || key.length === 0)
    throw new HttpError(400, "INVALID_REQUEST", "A rate-limit key must be a non-empty string.");
}

function checkInput(policies: readonly Policy[], cost: number): void {
  if (!Array.isArray(policies) || policies.length === 0) throw new HttpError(400, "INVALID_REQUEST", "Name at least one policy.");
  if (!Number.isInteger(cost) || cost < 0) throw new HttpError(400, "INVALID_REQUEST", "cost must be a non-negative integer.");
  const tooBig = checkCost(policies, cost);
  if (tooBig) throw new HttpError(422, "COST_EXCEEDS_CAPACITY", `The request can never be admitted: ${tooBig}.`);
}

function rememberFor(policies: readonly Policy[]): number {
  return Math.min(MAX_REMEMBER_MS, Math.max(MIN_REMEMBER_MS, ...policies.map((p) => p.periodMs)));
}
