/**
 * The platform limiter's in-isolate tier: the only state the Worker keeps between requests.
 * Per caller it holds a lease (units debited from the caller's RateLimiterDO in one call and handed
 * out here) and, after the actor said no, the time the caller is blocked until. A steady caller
 * costs one actor call per lease; a blocked one costs none until its retry time.
 *
 * Lease size adapts per caller: it doubles when a lease is used up before it expires and halves
 * when units expire unused, within [1, capacity / 100] (at most 128), so a low limit (under 200)
 * is leased one unit at a time, i.e. decided exactly by the actor. A lease of two or more is topped
 * up ahead: the request that leaves less than half of it asks for the next one while the others
 * keep spending the rest, so a steady caller's requests do not all stop at the end of each lease
 * to wait for the actor. Leased units are already debited: the global count can never exceed the
 * limit, whatever the number of isolates.
 */
import type { Lease } from "../../objects/rate-limiter/lease";
import { type Policy, capacity } from "../../objects/rate-limiter/policy";

/** Asks the caller's actor for up to `want` units. */
export type LeaseFetcher = (want: number) => Promise<Lease>;

export interface Admission {
  allowed: boolean;
  /** Units left for this caller as far as this isolate knows (actor's remaining + local units). */
  remaining: number;
  retryAfterMs: number;
  resetAfterMs: number;
  /** True when this request made the actor call (false: decided from the isolate's memory). */
  calledActor: boolean;
}

/** A lease call under way: when it started, and a promise that settles with it (never rejects). */
interface LeaseCall {
  since: number;
  settled: Promise<void>;
}

/** Units of one lease not yet spent, and when they expire. */
interface Batch {
  tokens: number;
  expiresAt: number;
}

interface Slot {
  /** Leased units not yet spent, at most two batches, each keeping its own lease's expiry. */
  batches: Batch[];
  /** When the latest lease expires (tells a lease used up in time from one whose units expired). */
  leasedUntil: number;
  size: number;
  /** The actor's remaining after the last grant, and when the policy is fully replenished. */
  actorRemaining: number;
  resetAt: number;
  blockedUntil: number;
  /**
   * The lease call that began the current round (sized from how the last lease went), or null.
   * Calls older than LEASE_LOST_MS, this one and the two below, are presumed lost: a call whose
   * request went away may never settle (workerd cancels its I/O).
   */
  refill: LeaseCall | null;
  /** The top-up under way, or null. */
  topUp: LeaseCall | null;
  /** The sized lease call (refill or top-up) that requests out of units wait on, never for long. */
  pending: LeaseCall | null;
  /** No top-up before this time: the actor refused the last one (its retry time) or it failed. */
  noTopUpUntil: number;
}

/** How long a request waits on another request's lease before asking the actor itself. */
export const LEASE_WAIT_MS = 50;

/**
 * How many leases in a row a request may wait on (a lease it waited for can be spent by others,
 * and the request that spends its last units tops up the next): at most this × LEASE_WAIT_MS.
 */
const MAX_WAITS = 2;

/** A lease call unanswered for this long is presumed lost (its request went away), so another may start. */
const LEASE_LOST_MS = 1_000;

/** Largest lease, whatever the policy. */
export const MAX_LEASE = 128;

/** The lease size cap for a policy: 1% of capacity, between 1 and MAX_LEASE. */
export function maxLease(policy: Policy): number {
  return Math.max(1, Math.min(MAX_LEASE, Math.floor(capacity(policy) / 100)));
}

/** How long leased units stay usable: a tenth of the period, between 10 ms and 1 s. */
export function leaseTtl(policy: Policy): number {
  return Math.max(10, Math.min(1_000, Math.floor(policy.periodMs / 10)));
}

/** Leases and blocks per caller, with an injected clock (tests pass a fake one) and bounded memory. */
export class IsolateLimiter {
  readonly #slots = new Map<string, Slot>();
  readonly #blockedCredentials = new Map<string, number>();
  readonly #clock: () => number;
  readonly #maxEntries: number;

  constructor(clock: () => number = Date.now, maxEntries = 10_000) {
    this.#clock = clock;
    this.#maxEntries = maxEntries;
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
   * Admits one request for `key` from the local lease, leasing more from the actor when it runs out.
   * A request waits on other requests' leases for at most MAX_WAITS × LEASE_WAIT_MS, then asks the actor
   * itself: workerd cancels a request's I/O when its client goes away, and a request awaiting that
   * promise without a bound would hang until the runtime kills it (seen in the soak as "code had
   * hung" 500s). Each lease is debited at the actor, so concurrent leases can only leave units
   * unused, never admit more than the policy allows.
   */
  async admit(key: string, policy: Policy, fetchLease: LeaseFetcher, credential: string | null): Promise<Admission> {
    const slot = this.#slot(key);
    for (let waits = 0; ; waits++) {
      const now = this.#clock();
      // Units held were debited at the actor: spend them even while blocked (a top-up can land after a refusal).
      if (this.#take(slot, now)) {
        const calledActor = this.#needsTopUp(slot, now) && (await this.#topUp(slot, policy, fetchLease, now, credential));
        const at = this.#clock();
        return { allowed: true, remaining: slot.actorRemaining + held(slot, at), retryAfterMs: 0, resetAfterMs: Math.max(0, slot.resetAt - at), calledActor };
      }
      if (slot.blockedUntil > now) return this.#deny(slot, now, credential, false);
      const pending = slot.pending;
      if (waits === MAX_WAITS || pending === null || !live(pending, now)) break;
      await Promise.race([pending.settled, new Promise((resolve) => setTimeout(resolve, LEASE_WAIT_MS))]);
    }
    const now = this.#clock();
    let want = 1;
    const first = !live(slot.refill, now) && !live(slot.topUp, now);
    if (first) {
      // Adapt the lease size only on the first refill of a round, from how the last lease went.
      // No unit is usable here, so units still held have expired unused.
      if (slot.batches.some((batch) => batch.tokens > 0)) slot.size = Math.max(1, Math.floor(slot.size / 2));
      else if (slot.leasedUntil > now) slot.size = Math.min(maxLease(policy), slot.size * 2); // used up in time
      slot.size = Math.min(slot.size, maxLease(policy));
      slot.batches = [];
      want = slot.size;
    }
    const call = fetchLease(want);
    const mine = leaseCall(call, now);
    if (first) slot.refill = mine;
    if (want > 1) slot.pending = mine;
    let lease: Awaited<ReturnType<LeaseFetcher>>;
    try {
      lease = await call;
    } finally {
      if (slot.refill === mine) slot.refill = null;
      if (slot.pending === mine) slot.pending = null;
    }
    const at = this.#clock();
    slot.actorRemaining = lease.remaining;
    slot.resetAt = at + lease.resetAfterMs;
    if (lease.granted === 0) {
      slot.blockedUntil = at + lease.retryAfterMs;
      return this.#deny(slot, at, credential, true);
    }
    this.#addUnits(slot, lease.granted - 1, at + leaseTtl(policy), at, credential);
    return { allowed: true, remaining: slot.actorRemaining + held(slot, at), retryAfterMs: 0, resetAfterMs: Math.max(0, slot.resetAt - at), calledActor: true };
  }

  /**
   * Keeps leased units to spend. They are debited already, so a refusal that came back meanwhile
   * (a concurrent call's) must not leave them behind the credential's early block.
   */
  #addUnits(slot: Slot, units: number, expiresAt: number, now: number, credential: string | null): void {
    addBatch(slot, units, expiresAt, now);
    if (units > 0 && credential !== null) this.#blockedCredentials.delete(credential);
  }

  /** Takes one leased unit, from the usable batch that expires first. */
  #take(slot: Slot, now: number): boolean {
    let first: Batch | null = null;
    for (const batch of slot.batches) {
      if (batch.tokens > 0 && batch.expiresAt > now && (first === null || batch.expiresAt < first.expiresAt)) first = batch;
    }
    if (first === null) return false;
    first.tokens -= 1;
    return true;
  }

  /**
   * True when less than half of a lease of two or more is left (counting a top-up not yet being
   * spent), no top-up is under way, and the actor has not just refused one.
   */
  #needsTopUp(slot: Slot, now: number): boolean {
    if (slot.size < 2 || held(slot, now) * 2 >= slot.size) return false;
    return !live(slot.topUp, now) && now >= slot.noTopUpUntil;
  }

  /**
   * Leases the next batch (twice the size, within the cap) for a request already admitted from a
   * token; it is kept apart from the units being spent, with its own expiry, so no unit outlives
   * its lease. Requests that run out meanwhile wait on it like on any sized lease. A refusal leaves
   * the units still held usable and no top-up is tried again before the actor's retry time (the
   * next ordinary refill learns it too); a failed call waits a lease's life before the next try
   * and is otherwise left to the next ordinary refill, since this request was admitted from a
   * unit already held. Units it brings are spendable even if a refusal came back meanwhile (the
   * credential's early block is lifted). Returns true: the request called the actor.
   */
  async #topUp(slot: Slot, policy: Policy, fetchLease: LeaseFetcher, now: number, credential: string | null): Promise<boolean> {
    slot.size = Math.min(maxLease(policy), slot.size * 2);
    const call = fetchLease(slot.size);
    const mine = leaseCall(call, now);
    slot.topUp = mine;
    slot.pending = mine;
    let lease: Lease | null = null;
    try {
      lease = await call;
    } catch {
      // See above: the next ordinary refill meets the error and answers it.
    } finally {
      if (slot.topUp === mine) slot.topUp = null;
      if (slot.pending === mine) slot.pending = null;
    }
    const at = this.#clock();
    if (lease === null) {
      slot.noTopUpUntil = at + leaseTtl(policy);
      return true;
    }
    slot.actorRemaining = lease.remaining;
    slot.resetAt = at + lease.resetAfterMs;
    if (lease.granted === 0) {
      slot.noTopUpUntil = at + lease.retryAfterMs;
      return true;
    }
    this.#addUnits(slot, lease.granted, at + leaseTtl(policy), at, credential);
    return true;
  }

  #deny(slot: Slot, now: number, credential: string | null, calledActor: boolean): Admission {
    if (credential !== null) this.#remember(this.#blockedCredentials, credential, slot.blockedUntil);
    return { allowed: false, remaining: 0, retryAfterMs: slot.blockedUntil - now, resetAfterMs: Math.max(0, slot.resetAt - now), calledActor };
  }

  #slot(key: string): Slot {
    let slot = this.#slots.get(key);
    if (!slot) {
      slot = { batches: [], leasedUntil: 0, size: 1, actorRemaining: 0, resetAt: 0, blockedUntil: 0, refill: null, topUp: null, pending: null, noTopUpUntil: 0 };
      this.#remember(this.#slots, key, slot);
    }
    return slot;
  }

  /** Bounded maps: when full, drop what has expired, then the oldest entries. */
  #remember<V>(map: Map<string, V>, key: string, value: V): void {
    if (!map.has(key) && map.size >= this.#maxEntries) {
      const now = this.#clock();
      for (const [k, v] of map) {
        const slot = v as Partial<Slot> | number;
        const stale =
          typeof slot === "number" ? slot <= now : !live(slot.refill ?? null, now) && !live(slot.topUp ?? null, now) && (slot.blockedUntil ?? 0) <= now && (slot.leasedUntil ?? 0) <= now;
        if (stale) map.delete(k);
      }
      for (const k of map.keys()) {
        if (map.size < this.#maxEntries) break;
        map.delete(k);
      }
    }
    map.set(key, value);
  }
}

/** Tracks a lease call from `now` on. */
function leaseCall(call: Promise<Lease>, now: number): LeaseCall {
  return {
    since: now,
    settled: call.then(
      () => undefined,
      () => undefined,
    ),
  };
}

/** True while a call is under way and not yet presumed lost. */
function live(call: LeaseCall | null, now: number): boolean {
  return call !== null && now - call.since <= LEASE_LOST_MS;
}

/** Usable leased units: those of batches that have not expired. */
function held(slot: Slot, now: number): number {
  let units = 0;
  for (const batch of slot.batches) if (batch.expiresAt > now) units += batch.tokens;
  return units;
}

/**
 * Keeps newly leased units with their own expiry: as a batch of their own (expired and empty
 * batches are dropped), or, when two are already held, added to the one that expires first, so
 * that no unit ever outlives its lease.
 */
function addBatch(slot: Slot, tokens: number, expiresAt: number, now: number): void {
  slot.leasedUntil = Math.max(slot.leasedUntil, expiresAt);
  if (tokens <= 0) return;
  slot.batches = slot.batches.filter((batch) => batch.tokens > 0 && batch.expiresAt > now);
  if (slot.batches.length < 2) {
    slot.batches.push({ tokens, expiresAt });
    return;
  }
  const first = slot.batches[0]!.expiresAt <= slot.batches[1]!.expiresAt ? slot.batches[0]! : slot.batches[1]!;
  first.tokens += tokens;
}
