import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ALGORITHMS, type TimedState } from "../objects/rate-limiter/algorithms";
import { evaluate } from "../objects/rate-limiter/decision";
import { policyFromId, policyId } from "../objects/rate-limiter/policy-id";
import { reserveUnits, stateToWrite, unstoredState, unstoredUntil } from "../objects/rate-limiter/reserve";
import type { RateLimitAlgorithm } from "../shared/config";
import { type Policy, capacity } from "../shared/rate-limit/policy";

/** A request in a generated history: the clock moves by `dt` (may go backwards), then asks `cost`. */
interface Op {
  dt: number;
  cost: number;
}

/**
 * A brute-force model of one algorithm, stepping its clock one millisecond at a time. Only an
 * admitted request moves the model forward (the actor persists nothing on a denial).
 */
interface Model {
  /** Would a request of `cost` be admitted at time `t`? Admits it if so. */
  request(t: number, cost: number): boolean;
}

function policyOf(algorithm: RateLimitAlgorithm, limit: number, periodMs: number, burst: number, aligned = false): Policy {
  const windowed = algorithm === "sliding_window" || algorithm === "fixed_window";
  return {
    name: "p",
    inline: true,
    algorithm,
    limit,
    periodMs,
    burst: windowed ? 0 : burst,
    aligned: algorithm === "fixed_window" && aligned,
  };
}

/** Continuous refill, in units of 1/limit ms: +limit per ms, a request costs cost × periodMs. */
function gcraModel(p: Policy, start: number): Model {
  const full = capacity(p) * p.periodMs;
  let level = full;
  let clock = start;
  return {
    request(t, cost) {
      let next = level;
      for (let ms = clock; ms < t; ms++) next = Math.min(full, next + p.limit);
      if (next < cost * p.periodMs) return false;
      level = next - cost * p.periodMs;
      clock = t;
      return true;
    },
  };
}

/** Lumps of `limit` every full period spent below full. */
function tokenBucketModel(p: Policy, start: number): Model {
  const full = capacity(p);
  let tokens = full;
  let belowFor = 0;
  let clock = start;
  return {
    request(t, cost) {
      let next = tokens;
      let below = belowFor;
      for (let ms = clock; ms < t; ms++) {
        if (next >= full) continue;
        below++;
        if (below === p.periodMs) {
          next = Math.min(full, next + p.limit);
          below = 0;
        }
      }
      if (next < cost) return false;
      tokens = next - cost;
      belowFor = below;
      clock = t;
      return true;
    },
  };
}

/** Every admitted unit counts for periodMs after it: sum the admitted log over (t − period, t]. */
function slidingWindowModel(p: Policy): Model {
  const admitted: [number, number][] = [];
  return {
    request(t, cost) {
      const used = admitted.filter(([at]) => at > t - p.periodMs).reduce((sum, [, c]) => sum + c, 0);
      if (used + cost > p.limit) return false;
      admitted.push([t, cost]);
      return true;
    },
  };
}

/** Windows from the epoch (aligned) or from the first admitted request after the last window ended. */
function fixedWindowModel(p: Policy): Model {
  let start = Number.NEGATIVE_INFINITY;
  let used = 0;
  return {
    request(t, cost) {
      const windowStart = p.aligned ? Math.floor(t / p.periodMs) * p.periodMs : t >= start + p.periodMs ? t : start;
      const inWindow = windowStart === start ? used : 0;
      if (inWindow + cost > p.limit) return false;
      start = windowStart;
      used = inWindow + cost;
      return true;
    },
  };
}

const models: Record<RateLimitAlgorithm, (p: Policy, start: number) => Model> = {
  gcra: gcraModel,
  token_bucket: tokenBucketModel,
  sliding_window: (p) => slidingWindowModel(p),
  fixed_window: (p) => fixedWindowModel(p),
};

const START = 1_700_000_000_000;

const arbitraryCase = fc.record({
  limit: fc.integer({ min: 1, max: 12 }),
  periodMs: fc.integer({ min: 1, max: 40 }),
  burst: fc.integer({ min: 0, max: 5 }),
  aligned: fc.boolean(),
  ops: fc.array(fc.record({ dt: fc.integer({ min: -30, max: 60 }), cost: fc.integer({ min: 1, max: 4 }) }), {
    minLength: 1,
    maxLength: 80,
  }),
});

/** Replays ops through `evaluate` (what the actor runs) and returns each decision with its time. */
function replay(policy: Policy, ops: readonly Op[], onStep: (t: number, cost: number, allowed: boolean, state: unknown) => void): void {
  let clock = START;
  let state: unknown = null;
  for (const { dt, cost } of ops) {
    clock += dt;
    const c = Math.min(cost, capacity(policy));
    const { decision, nextStates } = evaluate([policy], [state], clock, c, true);
    if (nextStates) state = nextStates[0];
    onStep(clock, c, decision.allowed, state);
  }
}

describe.each(["gcra", "token_bucket", "sliding_window", "fixed_window"] as const)("algorithm %s", (algorithm) => {
  it("decides every request exactly as the brute-force model does, with a clock that may go backwards", () => {
    fc.assert(
      fc.property(arbitraryCase, ({ limit, periodMs, burst, aligned, ops }) => {
        const policy = policyOf(algorithm, limit, periodMs, burst, aligned);
        // The actor's clock is clamped to the last admitted request's time: it never goes back.
        let lastAdmitted = Number.NEGATIVE_INFINITY;
        const model = models[algorithm](policy, START + ops[0]!.dt);
        replay(policy, ops, (t, cost, allowed) => {
          const at = Math.max(lastAdmitted, t);
          const expected = model.request(at, cost);
          expect(allowed).toBe(expected);
          if (expected) lastAdmitted = at;
        });
      }),
      { numRuns: 400 },
    );
  });

  it("writing ahead with a reserve, or no row within it, never admits what the model would not, across restarts, and a restart costs at most the reserve", () => {
    const reserveCase = fc.record({
      limit: fc.integer({ min: 90, max: 400 }),
      periodMs: fc.integer({ min: 1, max: 40 }),
      burst: fc.integer({ min: 0, max: 60 }),
      aligned: fc.boolean(),
      ops: fc.array(fc.record({ dt: fc.integer({ min: 0, max: 30 }), cost: fc.integer({ min: 1, max: 60 }), restart: fc.boolean() }), {
        minLength: 1,
        maxLength: 60,
      }),
    });
    fc.assert(
      fc.property(reserveCase, ({ limit, periodMs, burst, aligned, ops }) => {
        const policy = policyOf(algorithm, limit, periodMs, burst, aligned);
        const model = models[algorithm](policy, START);
        const peek = (state: unknown, t: number) => evaluate([policy], [state], t, 0, false).decision.remaining;
        // The exact state of what was admitted, never reloaded: what the actor would hold had it never restarted.
        let truth: unknown = null;
        let restarts = 0;
        // +1: a gcra debt counts whole units only once fully paid off.
        const lossPerRestart = reserveUnits(policy) + 1;
        let clock = START;
        let memory: unknown = null;
        let stored: unknown = null;
        // Until when a state without a row may exist, as the actor records it (storage.ts).
        let unstored = Number.NEGATIVE_INFINITY;
        for (const { dt, cost, restart } of ops) {
          clock += dt;
          if (restart && memory !== null) {
            // As the actor reloads it: the row brought up to now once (gcra then owes its reserve);
            // without one, the reserve spent now while unstored states may count, else fresh.
            const reloaded =
              stored !== null
                ? ALGORITHMS[algorithm].refresh(policy, stored as TimedState, clock)
                : clock < unstored
                  ? unstoredState(policy, clock)
                  : null;
            // Never more left than the exact state, at most the reserve less.
            expect(peek(reloaded, clock)).toBeLessThanOrEqual(peek(memory, clock));
            expect(peek(reloaded, clock)).toBeGreaterThanOrEqual(peek(memory, clock) - reserveUnits(policy));
            memory = reloaded;
            restarts++;
          }
          const c = Math.min(cost, capacity(policy));
          const { decision, nextStates } = evaluate([policy], [memory], clock, c, true);
          if (nextStates) {
            memory = nextStates[0];
            const until = stored === null ? unstoredUntil(policy, memory as TimedState) : null;
            if (until !== null) unstored = Math.max(unstored, until);
            else stored = stateToWrite(policy, stored, memory) ?? stored;
          }
          if (decision.allowed) {
            expect(model.request(clock, c)).toBe(true);
            const exact = evaluate([policy], [truth], clock, c, true);
            expect(exact.decision.allowed).toBe(true);
            truth = exact.nextStates![0];
          }
          // Whatever happened since, the actor has never more left than the exact state, and at most the restarts' losses less.
          expect(peek(memory, clock)).toBeLessThanOrEqual(peek(truth, clock));
          expect(peek(memory, clock)).toBeGreaterThanOrEqual(peek(truth, clock) - restarts * lossPerRestart);
          // The wait a reloaded state answers counts from now, exactly: denied a millisecond early, admitted on time.
          if (!decision.allowed) {
            expect(evaluate([policy], [memory], clock + decision.retryAfterMs - 1, c, false).decision.allowed).toBe(false);
            expect(evaluate([policy], [memory], clock + decision.retryAfterMs, c, false).decision.allowed).toBe(true);
          }
        }
      }),
      { numRuns: 400 },
    );
  });

  it("answers retryAfterMs exactly: denied one millisecond earlier, admitted at that time", () => {
    fc.assert(
      fc.property(arbitraryCase, fc.integer({ min: 1, max: 12 }), ({ limit, periodMs, burst, aligned, ops }, ask) => {
        const policy = policyOf(algorithm, limit, periodMs, burst, aligned);
        let last = { t: START, state: null as unknown };
        replay(policy, ops, (t, _cost, _allowed, state) => {
          last = { t: Math.max(last.t, t), state };
        });
        const cost = Math.min(ask, capacity(policy));
        const now = last.t;
        const { decision } = evaluate([policy], [last.state], now, cost, false);
        if (decision.allowed) {
          expect(decision.retryAfterMs).toBe(0);
          return;
        }
        expect(decision.retryAfterMs).toBeGreaterThan(0);
        expect(evaluate([policy], [last.state], now + decision.retryAfterMs, cost, false).decision.allowed).toBe(true);
        expect(evaluate([policy], [last.state], now + decision.retryAfterMs - 1, cost, false).decision.allowed).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it("answers resetAfterMs exactly: full capacity from then on, not a millisecond before", () => {
    fc.assert(
      fc.property(arbitraryCase, ({ limit, periodMs, burst, aligned, ops }) => {
        const policy = policyOf(algorithm, limit, periodMs, burst, aligned);
        let last = { t: START, state: null as unknown };
        replay(policy, ops, (t, _cost, _allowed, state) => {
          last = { t: Math.max(last.t, t), state };
        });
        const peek = (t: number) => evaluate([policy], [last.state], t, 0, false).decision;
        const { resetAfterMs } = peek(last.t);
        expect(peek(last.t + resetAfterMs).remaining).toBe(capacity(policy));
        if (resetAfterMs > 0) expect(peek(last.t + resetAfterMs - 1).remaining).toBeLessThan(capacity(policy));
      }),
      { numRuns: 300 },
    );
  });

  it("grants nothing when the clock goes backwards", () => {
    fc.assert(
      fc.property(arbitraryCase, fc.integer({ min: 1, max: 10_000 }), ({ limit, periodMs, burst, aligned, ops }, back) => {
        const policy = policyOf(algorithm, limit, periodMs, burst, aligned);
        let last = { t: START, state: null as unknown };
        replay(policy, ops, (t, _cost, _allowed, state) => {
          last = { t: Math.max(last.t, t), state };
        });
        const algo = ALGORITHMS[algorithm];
        const stateAt = last.state as TimedState | null;
        if (stateAt === null) return;
        const now = evaluate([policy], [stateAt], stateAt.at, 0, false).decision;
        const earlier = evaluate([policy], [stateAt], stateAt.at - back, 0, false).decision;
        expect(earlier.remaining).toBe(now.remaining);
        expect(algo.refresh(policy, stateAt, stateAt.at - back).at).toBe(stateAt.at);
      }),
      { numRuns: 200 },
    );
  });
});

describe("algorithm promises over long histories", () => {
  const history = fc.array(fc.record({ dt: fc.integer({ min: 0, max: 400 }), cost: fc.integer({ min: 1, max: 50 }) }), {
    minLength: 1,
    maxLength: 300,
  });

  it("gcra admits at most capacity + ⌊t × limit / period⌋ in any interval of t ms", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 1, max: 5_000 }),
        fc.integer({ min: 0, max: 50 }),
        history,
        (limit, periodMs, burst, ops) => {
          const policy = policyOf("gcra", limit, periodMs, burst);
          const admitted: [number, number][] = [];
          replay(policy, ops, (t, cost, allowed) => allowed && admitted.push([t, cost]));
          for (let i = 0; i < admitted.length; i++) {
            let sum = 0;
            for (let j = i; j < admitted.length; j++) {
              sum += admitted[j]![1];
              const span = admitted[j]![0] - admitted[i]![0];
              expect(sum).toBeLessThanOrEqual(capacity(policy) + Math.floor((span * limit) / periodMs));
            }
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it("sliding_window above the exact-log limit of 1,000 still admits at most limit in any window, with a bounded log", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1_001, max: 3_000 }), fc.integer({ min: 1_000, max: 20_000 }), history, (limit, periodMs, ops) => {
        const policy = policyOf("sliding_window", limit, periodMs, 0);
        const admitted: [number, number][] = [];
        let log = 0;
        replay(
          policy,
          ops.map((op) => ({ ...op, cost: op.cost * 20 })),
          (t, cost, allowed, state) => {
            if (allowed) admitted.push([t, cost]);
            log = Math.max(log, (state as { log: unknown[] } | null)?.log.length ?? 0);
          },
        );
        for (const [t] of admitted) {
          const inWindow = admitted.filter(([at]) => at > t - periodMs && at <= t).reduce((sum, [, c]) => sum + c, 0);
          expect(inWindow).toBeLessThanOrEqual(limit);
        }
        expect(log).toBeLessThanOrEqual(1_001);
      }),
      { numRuns: 100 },
    );
  });

  it("keeps exact integers with large limits and long periods", () => {
    const policy = policyOf("gcra", 1_000_000, 86_400_000, 0);
    let state: unknown = null;
    for (let i = 0; i < 1_000; i++) {
      const { nextStates } = evaluate([policy], [state], START, 1_000, true);
      state = nextStates![0];
    }
    const full = evaluate([policy], [state], START, 1, false).decision;
    expect(full.allowed).toBe(false);
    expect(full.remaining).toBe(0);
    expect(full.retryAfterMs).toBe(87); // one unit returns every 86.4 ms: ⌈86.4⌉
  });
});

describe("writing ahead", () => {
  /**
   * Admits one unit at each time, writing ahead as the actor does; `check` sees each answer and
   * what storage then holds. Returns the number of writes and the last state written.
   */
  function admitEach(policy: Policy, times: readonly number[], check?: (remaining: number, stored: unknown, now: number) => void) {
    let memory: unknown = null;
    let stored: unknown = null;
    let writes = 0;
    for (const now of times) {
      const { decision, nextStates } = evaluate([policy], [memory], now, 1, true);
      memory = nextStates![0];
      const ahead = stateToWrite(policy, stored, memory);
      if (ahead) {
        stored = ahead;
        writes++;
      }
      check?.(decision.remaining, stored, now);
    }
    return { writes, stored };
  }

  it("writes a gcra key of limit 1,000 once per 11 admitted units: the unit and a reserve of 10", () => {
    const policy = policyOf("gcra", 1_000, 60_000, 0);
    expect(reserveUnits(policy)).toBe(10);
    expect(admitEach(policy, Array(50).fill(START)).writes).toBe(5);
  });

  it("writes a slow gcra key once: decided once a second for five minutes, it never owes more than its reserve", () => {
    const policy = policyOf("gcra", 1_000, 60_000, 0);
    const seconds = Array.from({ length: 300 }, (_, second) => START + second * 1_000);
    const { writes, stored } = admitEach(policy, seconds, (remaining, stored, now) => {
      expect(remaining).toBe(999);
      // Reloaded at any moment, the stored state has no more left than the exact one, and at most 10 units (the reserve) less.
      const reloaded = evaluate([policy], [stored], now, 0, false).decision.remaining;
      expect(reloaded).toBeLessThanOrEqual(remaining);
      expect(reloaded).toBeGreaterThanOrEqual(remaining - 10);
    });
    expect(writes).toBe(1);
    // Reloaded long after it was written, the state owes the reserve from then on, not from its date.
    const reloaded = evaluate([policy], [stored], START + 297_000, 1_000, false).decision;
    expect(reloaded.allowed).toBe(false);
    expect(reloaded.retryAfterMs).toBe(600); // 10 units of 60 ms
  });

  it("writes a busy gcra key again once its debt grows past what the stored state owes", () => {
    const policy = policyOf("gcra", 1_000, 1_000, 0); // one unit a millisecond; reserve 10
    // 12 units at once: the first is written owing 10 more, the 12th outgrows it.
    expect(admitEach(policy, Array(12).fill(START)).writes).toBe(2);
    // 11 units a millisecond apart: each drains before the next, so the first write covers them all.
    expect(
      admitEach(
        policy,
        Array.from({ length: 11 }, (_, i) => START + i),
      ).writes,
    ).toBe(1);
  });

  it("costs a restarted key at most its reserve, once, however long after the write it restarts", () => {
    const policy = policyOf("gcra", 1_000, 1_000, 0); // one unit a millisecond; reserve 10
    const first = evaluate([policy], [null], START, 1, true).nextStates![0];
    const stored = stateToWrite(policy, null, first)!;
    for (const restartAt of [START + 1, START + 50, START + 60_000]) {
      // The actor restarts and reloads `stored` (brought up to then once); the exact actor keeps `first`.
      let restarted: unknown = ALGORITHMS.gcra.refresh(policy, stored, restartAt);
      let exact: unknown = first;
      for (let i = 0; i < 10; i++) {
        const r = evaluate([policy], [restarted], restartAt, 99, true);
        const e = evaluate([policy], [exact], restartAt, 99, true);
        expect(r.decision.allowed && e.decision.allowed).toBe(true);
        restarted = r.nextStates![0];
        exact = e.nextStates![0];
      }
      const left = (state: unknown, t: number) => evaluate([policy], [state], t, 0, false).decision.remaining;
      for (const t of [restartAt, restartAt + 50, restartAt + 1_500]) {
        expect(left(restarted, t)).toBeLessThanOrEqual(left(exact, t));
        expect(left(restarted, t)).toBeGreaterThanOrEqual(left(exact, t) - 10);
      }
      expect(evaluate([policy], [restarted], restartAt + 1_500, 1_000, false).decision.allowed).toBe(true);
    }
  });

  it("gcra: a restart on a clock that reads earlier than before leaves at most the re-lived time's refill more than the exact state, with a row or without", () => {
    const backwardsCase = fc.record({
      limit: fc.integer({ min: 90, max: 400 }),
      // Short periods refill a lot per re-lived millisecond; long ones make d ms of refill a fraction of capacity.
      periodMs: fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 100, max: 5_000 })),
      burst: fc.integer({ min: 0, max: 60 }),
      ops: fc.array(fc.record({ dt: fc.integer({ min: -30, max: 30 }), cost: fc.integer({ min: 1, max: 60 }), restart: fc.boolean() }), {
        minLength: 20,
        maxLength: 80,
      }),
    });
    fc.assert(
      fc.property(backwardsCase, ({ limit, periodMs, burst, ops }) => {
        const policy = policyOf("gcra", limit, periodMs, burst);
        const left = (state: unknown, t: number) => evaluate([policy], [state], t, 0, false).decision.remaining;
        // Everything admitted, debited on the latest clock reading so far: time as it really went, never back.
        let exact: TimedState | null = null;
        let latest = Number.NEGATIVE_INFINITY;
        let clock = START;
        let memory: unknown = null;
        let stored: unknown = null;
        // The latest reading of the running instance, and the time restarted instances have lived
        // through again: each from where its reloaded state starts to the old instance's latest reading.
        let instanceLatest = Number.NEGATIVE_INFINITY;
        let relivedMs = 0;
        // Until when a key without a row may have spent anything, as the actor records it (storage.ts).
        let unstored = Number.NEGATIVE_INFINITY;
        for (const { dt, cost, restart } of ops) {
          clock += dt;
          if (restart && memory !== null) {
            memory =
              stored !== null
                ? ALGORITHMS.gcra.refresh(policy, stored as TimedState, clock)
                : clock < unstored
                  ? unstoredState(policy, clock)
                  : null;
            relivedMs += Math.max(0, instanceLatest - (memory === null ? clock : (memory as TimedState).at));
            instanceLatest = Number.NEGATIVE_INFINITY;
          }
          latest = Math.max(latest, clock);
          instanceLatest = Math.max(instanceLatest, clock);
          const c = Math.min(cost, capacity(policy));
          const { decision, nextStates } = evaluate([policy], [memory], clock, c, true);
          if (nextStates) {
            memory = nextStates[0];
            const until = stored === null ? unstoredUntil(policy, memory as TimedState) : null;
            if (until !== null) unstored = Math.max(unstored, until);
            else stored = stateToWrite(policy, stored, memory) ?? stored;
          }
          if (decision.allowed)
            exact = ALGORITHMS.gcra.debit(
              policy,
              ALGORITHMS.gcra.refresh(policy, exact ?? ALGORITHMS.gcra.fresh(policy, latest), latest),
              c,
            );
          // The documented bound (docs/rate-limiting.md, "Writing ahead"): d ms of refill per restart, in whole units.
          expect(left(memory, latest)).toBeLessThanOrEqual(left(exact, latest) + Math.ceil((relivedMs * limit) / periodMs));
        }
      }),
      { numRuns: 400 },
    );
  });

  it("lets a restart on a clock a second behind the last decision live that second's refill again: 10 units here, all the key had spent", () => {
    const policy = policyOf("gcra", 1_000, 60_000, 0); // a unit every 60 ms; reserve 10
    const T = START;
    let memory = evaluate([policy], [null], T, 1, true).nextStates![0];
    const stored = stateToWrite(policy, null, memory)!;
    // Two minutes later, 10 units at once: the stored state still covers them, nothing is written.
    const spent = evaluate([policy], [memory], T + 120_000, 10, true);
    memory = spent.nextStates![0];
    expect(stateToWrite(policy, stored, memory)).toBeNull();
    const left = (state: unknown, t: number) => evaluate([policy], [state], t, 0, false).decision.remaining;
    expect(left(memory, T + 120_000)).toBe(990);
    // The actor restarts on a clock a second behind: the reloaded reserve starts draining a second early.
    const reloaded = ALGORITHMS.gcra.refresh(policy, stored as TimedState, T + 119_000);
    expect(left(reloaded, T + 120_000)).toBe(1_000);
    // The re-lived second would refill 16 units, but the key is full again after 10 (docs/rate-limiting.md, "Writing ahead").
    expect(left(reloaded, T + 120_000) - left(memory, T + 120_000)).toBe(reserveUnits(policy));
    // On a clock that does not go back, the reload has no more left than the exact state.
    expect(left(ALGORITHMS.gcra.refresh(policy, stored as TimedState, T + 120_000), T + 120_000)).toBeLessThanOrEqual(990);
  });

  it("reserves nothing under a capacity of 100, so small policies are written on every change", () => {
    const policy = policyOf("token_bucket", 90, 60_000, 9);
    expect(reserveUnits(policy)).toBe(0);
    const { nextStates } = evaluate([policy], [null], START, 1, true);
    expect(stateToWrite(policy, null, nextStates![0])).toEqual(nextStates![0]);
  });
});

describe("policy ids", () => {
  it("gives back the policy an id was made from, and null for strings no policy makes", () => {
    const named: Policy = {
      name: "api|v2:x",
      inline: false,
      algorithm: "fixed_window",
      limit: 10,
      periodMs: 60_000,
      burst: 0,
      aligned: true,
    };
    const inline: Policy = { name: "inline", inline: true, algorithm: "gcra", limit: 1_000_000_000, periodMs: 1, burst: 5, aligned: false };
    for (const policy of [named, inline]) expect(policyFromId(policyId(policy))).toEqual(policy);
    for (const id of [
      "",
      "inline",
      "inline|gcra:1:1:0",
      "inline|gcra:1:1:0:rolling:x",
      "other|gcra:1:1:0:rolling",
      "inline|leaky:1:1:0:rolling",
      "inline|gcra:1e3:1:0:rolling",
      "inline|gcra:1:1:0:sometimes",
    ]) {
      expect(policyFromId(id)).toBeNull();
    }
  });
});
