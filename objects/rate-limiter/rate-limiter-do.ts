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

/**
 * One rate-limit key's exact, serial decision maker. Every decision reads state, decides and writes
 * with no await in between, so concurrent callers are admitted one at a time and never over the
 * limit. The actor's clock is the only clock. Answers come from the exact states in memory, and
 * SQLite gets states written ahead (reserve.ts), so a busy key does not commit on every decision.
 * One alarm drops the key once it has fully replenished and gone unused for a minute.
 */
export class RateLimiterDO extends DurableObject<Env> implements RateLimiterRpc {
  readonly #store: LimitStore;
  /** When this instance last decided or leased (0 after a restart): a key in use keeps its states and database. */
  #lastUsedAt = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#store = new LimitStore(ctx.storage);
  }

  /** Decides a request against all its policies (all must allow; a denial debits none). */
  async decide(input: DecideInput): Promise<RpcResult<Decision>> {
    return capture(async () => {
      checkInput(input.policies, input.cost);
      if (!DECISION_MODES.includes(input.mode))
        throw new HttpError(400, "INVALID_REQUEST", `mode must be one of ${DECISION_MODES.join(", ")}.`);
      const debits = input.mode !== "dry_run" && input.cost > 0;
      const now = Date.now();
      this.#lastUsedAt = now;
      if (debits && input.requestId !== null) {
        const earlier = this.#store.remembered(input.requestId, now) as Decision | null;
        if (earlier) return { ...earlier, replayed: true };
      }
      const { decision, nextStates } = evaluate(input.policies, this.#store.readStates(input.policies, now), now, input.cost, debits);
      const answer: Decision = input.mode === "shadow" ? { ...decision, allowed: true, wouldAllow: decision.allowed } : decision;
      if (nextStates) {
        const remember =
          input.requestId === null
            ? undefined
            : { requestId: input.requestId, decision: answer, expiresAt: now + rememberFor(input.policies) };
        const idle = this.#store.write(
          input.policies.map((policy, i) => ({ policy, state: nextStates[i] })),
          remember,
        );
        if (idle !== null) await this.#scheduleCleanup(idle);
      }
      return answer;
    });
  }

  /** Reports what the policies allow right now (one unit), changing nothing. */
  async peek(policies: Policy[]): Promise<RpcResult<Decision>> {
    return capture(() => {
      checkInput(policies, 0);
      const now = Date.now();
      return evaluate(policies, this.#store.readStates(policies, now), now, 0, false).decision;
    });
  }

  /** Forgets the given policies' state on this key (all state and remembered answers when null). */
  async reset(policies: Policy[] | null): Promise<RpcResult<{ cleared: number }>> {
    return capture(() => ({ cleared: this.#store.clear(policies) }));
  }

  /**
   * Debits up to `want` units at once for the platform limiter's in-isolate tier, which then admits
   * from them locally. Granting debits the actor, so the global limit holds across isolates.
   */
  async lease(policy: Policy, want: number): Promise<RpcResult<Lease>> {
    return capture(async () => {
      checkInput([policy], 1);
      if (!Number.isInteger(want) || want < 1) throw new HttpError(400, "INVALID_REQUEST", "A lease must ask for at least one unit.");
      const now = Date.now();
      this.#lastUsedAt = now;
      const [state] = this.#store.readStates([policy], now);
      const { lease, nextState } = grantLease(policy, state, now, want);
      if (nextState !== null) {
        const idle = this.#store.write([{ policy, state: nextState }]);
        if (idle !== null) await this.#scheduleCleanup(idle);
      }
      return lease;
    });
  }

  /**
   * Cleanup: drops expired answers and, once the key has gone unused for CLEANUP_DELAY_MS, its
   * fully replenished states; then either schedules the next cleanup (at least CLEANUP_DELAY_MS
   * away) or, when nothing is left and the key is unused, removes its storage entirely. A key in
   * use keeps its states: under a high limit it is replenished at every alarm, and dropping its
   * state would only make the next decision write it again. Safe to run twice.
   */
  override async alarm(): Promise<void> {
    const now = Date.now();
    const inUse = now - this.#lastUsedAt < CLEANUP_DELAY_MS;
    const next = this.#store.sweep(now, !inUse);
    if (next === null && !inUse) {
      await this.#store.destroy();
      return;
    }
    const at = Math.max(next ?? 0, now + CLEANUP_DELAY_MS);
    this.#store.alarmAt = at;
    await this.ctx.storage.setAlarm(at);
  }

  /** Makes sure a cleanup alarm is pending; a late alarm only reschedules itself, so one is enough. */
  async #scheduleCleanup(at: number): Promise<void> {
    if (this.#store.alarmAt !== null) return;
    const when = Math.max(at, Date.now() + CLEANUP_DELAY_MS);
    this.#store.alarmAt = when;
    await this.ctx.storage.setAlarm(when);
  }
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
