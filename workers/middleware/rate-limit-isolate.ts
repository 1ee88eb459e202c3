/**
 * The platform limiter's in-isolate tier: the only state the Worker keeps between requests
 * (docs/rate-limiting.md, "The platform limiter"). Per caller it holds a lease (units debited from
 * the caller's RateLimiterDO in one call and handed out here) and, after the actor said no, the time
 * the caller is blocked until. A steady caller costs one actor call per lease; a blocked one costs
 * none until its retry time.
 *
 * Lease size adapts per caller: it doubles when a lease is used up before it expires and halves
 * when units expire unused, within [1, maxLease] (1% of capacity, at most 128), so a low limit
 * (under 200) is leased one unit at a time, i.e. decided exactly by the actor. A lease of two or
 * more is topped up ahead: the request that leaves less than half of it asks for the next one while
 * the others keep spending the rest. Leased units are already debited: the global count can never
 * exceed the limit, whatever the number of isolates. What a caller's slot holds is in
 * rate-limit-slot.ts; this file decides with it.
 */
import type { Lease } from "../../shared/rate-limit/decision";
import { type Policy, capacity } from "../../shared/rate-limit/policy";
import { BoundedMap } from "./bounded-map";
import { CallerSlot, type LeaseCall } from "./rate-limit-slot";

/** Asks the caller's actor for up to `want` units. */
export type LeaseFetcher = (want: number) => Promise<Lease>;

/** The isolate tier's answer to one request. */
export interface Admission {
  allowed: boolean;
  /** Units left for this caller as far as this isolate knows (actor's remaining + local units). */
  remaining: number;
  retryAfterMs: number;
  resetAfterMs: number;
  /** True when this request made the actor call (false: decided from the isolate's memory). */
  calledActor: boolean;
}

/** How long a request waits on another request's lease before asking the actor itself. */
export const LEASE_WAIT_MS = 50;

/**
 * How many leases in a row a request may wait on (a lease it waited for can be spent by others,
 * and the request that spends its last units tops up the next): at most this × LEASE_WAIT_MS.
 */
export const MAX_WAITS = 2;

/** Largest lease, whatever the policy. */
export const MAX_LEASE = 128;

/** The lease size cap for a policy: 1% of capacity, between 1 and MAX_LEASE. */
export function maxLease(policy: Policy): number {
  return Math.max(1, Math.min(MAX_LEASE, Math.floor(capacity(policy) / 100)));
}

/** Longest a lease lives. */
export const MAX_LEASE_TTL_MS = 5_000;

/** How long leased units stay usable: a tenth of the period, between 10 ms and MAX_LEASE_TTL_MS. */
export function leaseTtl(policy: Policy): number {
  return Math.max(10, Math.min(MAX_LEASE_TTL_MS, Math.floor(policy.periodMs / 10)));
}

/** Leases and blocks per caller, with an injected clock (tests pass a fake one) and bounded memory. */
export class IsolateLimiter {
  readonly #clock: () => number;
  /** Callers by key (`callerKey`): forgotten first once idle (see CallerSlot.idle), else oldest first. */
  readonly #slots: BoundedMap<string, CallerSlot>;
  /** Credentials (see credentialOf in rate-limit.ts) denied here, and the time each is blocked until. */
  readonly #blockedCredentials: BoundedMap<string, number>;

  constructor(clock: () => number = Date.now, maxEntries = 10_000) {
    this.#clock = clock;
    this.#slots = new BoundedMap(maxEntries, (slot) => slot.idle(this.#clock()));
    this.#blockedCredentials = new BoundedMap(maxEntries, (until) => until <= this.#clock());
  }

  /** True while some credential is remembered as blocked (lets the early tier skip all work otherwise). */
  get anyBlocked(): boolean {
    return this.#blockedCredentials.size > 0;
  }

  /**
   * Milliseconds a credential (see credentialOf in rate-limit.ts) is still known to be blocked
   * for, else 0. The early tier uses it before authentication: it can only deny.
   */
  blockedFor(credential: string): number {
    const until = this.#blockedCredentials.get(credential);
    if (until === undefined) return 0;
    const left = until - this.#clock();
    if (left <= 0) this.#blockedCredentials.delete(credential);
    return Math.max(0, left);
  }

  /**
   * Admits one request for `key` from the units held, else asks the actor. A request waits on
   * other requests' leases for at most MAX_WAITS × LEASE_WAIT_MS, then asks the actor itself:
   * workerd cancels a request's I/O when its client goes away, and a request awaiting that promise
   * without a bound would hang until the runtime kills it (seen in the soak as "code had hung"
   * 500s). Each lease is debited at the actor, so concurrent leases can only leave units unused.
   * A top-up is started for a request already admitted; given `background` (the Worker passes
   * `ctx.waitUntil`), the request answers without waiting for it.
   */
  admit(
    key: string,
    policy: Policy,
    fetchLease: LeaseFetcher,
    credential: string | null,
    background?: (work: Promise<void>) => void,
  ): Admission | Promise<Admission> {
    const slot = this.#slot(key);
    const now = this.#clock();
    // The common case answers synchronously: a unit held, and any top-up left to `background`.
    if (slot.units.take(now)) return this.#spend(slot, policy, fetchLease, now, credential, background);
    return this.#admitWithoutUnits(slot, policy, fetchLease, credential, background);
  }

  /** No unit was usable: waits on a lease under way (bounded), or is denied, or asks the actor. */
  async #admitWithoutUnits(
    slot: CallerSlot,
    policy: Policy,
    fetchLease: LeaseFetcher,
    credential: string | null,
    background?: (work: Promise<void>) => void,
  ): Promise<Admission> {
    for (let waits = 0; ; waits++) {
      const now = this.#clock();
      // Units held were debited at the actor: spend them even while blocked (a top-up can land after a refusal).
      if (waits > 0 && slot.units.take(now)) return this.#spend(slot, policy, fetchLease, now, credential, background);
      if (slot.blockedUntil > now) return this.#deny(slot, now, credential, false);
      const call = waits < MAX_WAITS ? slot.calls.waitable(now) : null;
      if (call === null) return this.#refill(slot, policy, fetchLease, now, credential);
      await shortWait(call);
    }
  }

  /** Admits a request that took a unit held, starting a top-up when the lease runs low. */
  #spend(
    slot: CallerSlot,
    policy: Policy,
    fetchLease: LeaseFetcher,
    now: number,
    credential: string | null,
    background?: (work: Promise<void>) => void,
  ): Admission | Promise<Admission> {
    if (!slot.needsTopUp(now)) return admitted(slot, now, false);
    const topUp = this.#topUp(slot, policy, fetchLease, now, credential);
    if (background === undefined) return topUp.then(() => admitted(slot, this.#clock(), true));
    background(topUp);
    return admitted(slot, this.#clock(), true);
  }

  /**
   * Asks the actor when no unit is usable: for a sized lease that begins a new round when no
   * refill or top-up is under way, else for one unit, this request's alone (it gave up waiting).
   * A refusal blocks the caller, and its credential, until the actor's retry time.
   */
  async #refill(slot: CallerSlot, policy: Policy, fetchLease: LeaseFetcher, now: number, credential: string | null): Promise<Admission> {
    const startsRound = !slot.calls.underWay(now);
    const want = startsRound ? slot.startRound(now, maxLease(policy)) : 1;
    const call = fetchLease(want);
    const tracked = startsRound ? slot.calls.start("refill", want, call, now) : null;
    let lease: Lease;
    try {
      lease = await call;
    } finally {
      if (tracked !== null) slot.calls.end(tracked);
    }
    const at = this.#clock();
    slot.learn(lease, at);
    if (lease.granted === 0) {
      slot.block(at + lease.retryAfterMs);
      return this.#deny(slot, at, credential, true);
    }
    // One unit admits this request; the rest are held for the caller's next ones.
    this.#keep(slot, lease.granted - 1, at + leaseTtl(policy), at, credential);
    return admitted(slot, at, true);
  }

  /**
   * Leases the next batch (twice the size, within the cap) for a request already admitted from a
   * unit held; it is kept apart from the units being spent, with its own expiry. Requests that run
   * out meanwhile wait on it like on any sized lease. A refusal leaves the units held usable and no
   * top-up is tried before the actor's retry time (the next refill learns it too); a failed call
   * waits a lease's life before the next try and is otherwise left to the next refill, since this
   * request was admitted already.
   */
  async #topUp(slot: CallerSlot, policy: Policy, fetchLease: LeaseFetcher, now: number, credential: string | null): Promise<void> {
    const want = slot.growForTopUp(maxLease(policy));
    const call = fetchLease(want);
    const tracked = slot.calls.start("top-up", want, call, now);
    let lease: Lease | null = null;
    try {
      lease = await call;
    } catch {
      // See above: the next refill meets the error and answers it.
    } finally {
      slot.calls.end(tracked);
    }
    const at = this.#clock();
    if (lease === null) {
      slot.holdTopUps(at + leaseTtl(policy));
    } else if (lease.granted === 0) {
      slot.learn(lease, at);
      slot.holdTopUps(at + lease.retryAfterMs);
    } else {
      slot.learn(lease, at);
      this.#keep(slot, lease.granted, at + leaseTtl(policy), at, credential);
    }
  }

  /**
   * Holds leased units to spend. They are debited already, so a refusal that came back meanwhile
   * (a concurrent call's) must not leave them behind the credential's early block.
   */
  #keep(slot: CallerSlot, units: number, expiresAt: number, now: number, credential: string | null): void {
    slot.units.add(units, expiresAt, now);
    if (units > 0 && credential !== null) this.#blockedCredentials.delete(credential);
  }

  /** Denies until the caller's block ends, and blocks its credential early until then. */
  #deny(slot: CallerSlot, now: number, credential: string | null, calledActor: boolean): Admission {
    if (credential !== null) this.#blockedCredentials.set(credential, slot.blockedUntil);
    return { allowed: false, remaining: 0, retryAfterMs: slot.blockedUntil - now, resetAfterMs: slot.resetAfterMs(now), calledActor };
  }

  #slot(key: string): CallerSlot {
    let slot = this.#slots.get(key);
    if (slot === undefined) {
      slot = new CallerSlot();
      this.#slots.set(key, slot);
    }
    return slot;
  }
}

/** An admission, with the numbers as of `now`. */
function admitted(slot: CallerSlot, now: number, calledActor: boolean): Admission {
  return { allowed: true, remaining: slot.remaining(now), retryAfterMs: 0, resetAfterMs: slot.resetAfterMs(now), calledActor };
}

/** Settles when `call` does or after LEASE_WAIT_MS, whichever comes first. */
function shortWait(call: LeaseCall): Promise<unknown> {
  return Promise.race([call.settled, new Promise((resolve) => setTimeout(resolve, LEASE_WAIT_MS))]);
}
