/**
 * What the platform limiter's isolate tier knows about one caller, in parts that can each be
 * checked on their own: the units it holds (`HeldUnits`), the lease calls under way (`LeaseCalls`),
 * and the caller's slot around them (`CallerSlot`: lease size, the actor's last answer, and the
 * times its refusals set). rate-limit-isolate.ts decides with them; nothing here calls the actor.
 */
import type { Lease } from "../../shared/rate-limit/decision";

/** A lease call unanswered for this long is presumed lost (its request went away), so another may start. */
export const LEASE_LOST_MS = 1_000;

/** Units of one lease not yet spent, and when they expire. */
interface Batch {
  units: number;
  readonly expiresAt: number;
}

/**
 * Leased units a caller holds: debited at the actor already, so spending one needs no call. At most
 * two batches (the lease being spent and a top-up), each keeping its own lease's expiry.
 */
export class HeldUnits {
  #batches: Batch[] = [];
  #leasedUntil = 0;

  /** When the latest lease expires: tells a lease used up in time from one whose units expired. */
  get leasedUntil(): number {
    return this.#leasedUntil;
  }

  /** True when units are left over, usable or expired. */
  get anyLeft(): boolean {
    return this.#batches.some((batch) => batch.units > 0);
  }

  /** Usable units: those of batches that have not expired. */
  usable(now: number): number {
    let units = 0;
    for (const batch of this.#batches) if (batch.expiresAt > now) units += batch.units;
    return units;
  }

  /** Spends one usable unit, from the batch that expires first; false when none is usable. */
  take(now: number): boolean {
    let first: Batch | null = null;
    for (const batch of this.#batches) {
      if (batch.units > 0 && batch.expiresAt > now && (first === null || batch.expiresAt < first.expiresAt)) first = batch;
    }
    if (first === null) return false;
    first.units -= 1;
    return true;
  }

  /**
   * Keeps `units` of a lease that expires at `expiresAt`: as a batch of their own (expired and empty
   * batches are dropped), or, when two are already held, added to the one that expires first, so no
   * unit ever outlives its lease. A lease with no units left over still moves `leasedUntil`.
   */
  add(units: number, expiresAt: number, now: number): void {
    this.#leasedUntil = Math.max(this.#leasedUntil, expiresAt);
    if (units <= 0) return;
    this.#batches = this.#batches.filter((batch) => batch.units > 0 && batch.expiresAt > now);
    const [a, b] = this.#batches;
    if (a === undefined || b === undefined) {
      this.#batches.push({ units, expiresAt });
      return;
    }
    (a.expiresAt <= b.expiresAt ? a : b).units += units;
  }

  /** Forgets every batch; `leasedUntil` stays (the next round is sized from it). */
  clear(): void {
    this.#batches = [];
  }
}

/** A lease call under way. `settled` settles with the call and never rejects, so anyone may wait on it. */
export interface LeaseCall {
  /** `refill` begins a round of leases (sized from how the last one went); `top-up` tops it up ahead. */
  readonly kind: "refill" | "top-up";
  /** Units asked for: a call for two or more is one that requests out of units may wait on. */
  readonly want: number;
  readonly since: number;
  readonly settled: Promise<void>;
}

/**
 * A caller's refills and top-ups under way (one unit asked by a request that gave up waiting is not
 * tracked: nobody waits on it). A call older than LEASE_LOST_MS is presumed lost: workerd cancels a
 * request's I/O when its client goes away, so the call may never settle. It then no longer counts as
 * under way, and nobody waits on it.
 */
export class LeaseCalls {
  readonly #calls = new Set<LeaseCall>();
  /** The latest call for two units or more: the one requests out of units wait on while it is under way. */
  #latestSized: LeaseCall | null = null;

  /** Tracks `call` from `now`; whoever awaits it must `end` it once it settles. Drops calls presumed lost. */
  start(kind: LeaseCall["kind"], want: number, call: Promise<Lease>, now: number): LeaseCall {
    for (const old of this.#calls) if (!live(old, now)) this.#calls.delete(old);
    const tracked: LeaseCall = {
      kind,
      want,
      since: now,
      settled: call.then(
        () => undefined,
        () => undefined,
      ),
    };
    this.#calls.add(tracked);
    if (want > 1) this.#latestSized = tracked;
    return tracked;
  }

  /** Stops tracking a call that settled. */
  end(call: LeaseCall): void {
    this.#calls.delete(call);
  }

  /** True while a call (of `kind`, or of either kind) is under way and not presumed lost. */
  underWay(now: number, kind?: LeaseCall["kind"]): boolean {
    for (const call of this.#calls) if (live(call, now) && (kind === undefined || call.kind === kind)) return true;
    return false;
  }

  /**
   * The call a request out of units may wait on: the latest one for two units or more, while it is
   * under way; else null. (Once it has settled, its units are what there was to wait for.)
   */
  waitable(now: number): LeaseCall | null {
    const call = this.#latestSized;
    return call !== null && this.#calls.has(call) && live(call, now) ? call : null;
  }
}

/**
 * One caller as this isolate knows it. Besides its units and calls: the size of its next lease,
 * the actor's last answer, the time the actor blocked it until (a refill it refused) and the time
 * before which no top-up is tried (a top-up it refused, or one that failed).
 */
export class CallerSlot {
  readonly units = new HeldUnits();
  readonly calls = new LeaseCalls();
  #size = 1;
  #actorRemaining = 0;
  #resetAt = 0;
  #blockedUntil = 0;
  #noTopUpUntil = 0;

  /** Until when the actor refused this caller: once no unit is held, requests are denied until then. */
  get blockedUntil(): number {
    return this.#blockedUntil;
  }

  /** Units left for the caller as far as this isolate knows: the actor's remaining plus the units held. */
  remaining(now: number): number {
    return this.#actorRemaining + this.units.usable(now);
  }

  /** Milliseconds until the policy is fully replenished, as of the actor's last answer. */
  resetAfterMs(now: number): number {
    return Math.max(0, this.#resetAt - now);
  }

  /**
   * Begins a round of leases (no unit is usable, so units still held have expired unused): halves
   * the lease size when units expired unused, doubles it when the last lease was used up before it
   * expired, keeps it within [1, cap], forgets the expired units, and returns the size to ask for.
   */
  startRound(now: number, cap: number): number {
    if (this.units.anyLeft) this.#size = Math.max(1, Math.floor(this.#size / 2));
    else if (this.units.leasedUntil > now) this.#size *= 2;
    this.#size = Math.min(this.#size, cap);
    this.units.clear();
    return this.#size;
  }

  /**
   * True when less than half of a lease of two or more is left (counting a top-up not yet being
   * spent), no top-up is under way, and the actor has not just refused one.
   */
  needsTopUp(now: number): boolean {
    if (this.#size < 2 || this.units.usable(now) * 2 >= this.#size) return false;
    return !this.calls.underWay(now, "top-up") && now >= this.#noTopUpUntil;
  }

  /** Grows the lease for a top-up (twice the size, within `cap`) and returns the size to ask for. */
  growForTopUp(cap: number): number {
    this.#size = Math.min(cap, this.#size * 2);
    return this.#size;
  }

  /** Records the actor's answer to a lease call that came back at `at`. */
  learn(lease: Lease, at: number): void {
    this.#actorRemaining = lease.remaining;
    this.#resetAt = at + lease.resetAfterMs;
  }

  /** The actor refused a refill: once no unit is held, requests are denied until `until`. */
  block(until: number): void {
    this.#blockedUntil = until;
  }

  /** No top-up before `until`: the actor refused the last one (its retry time), or it failed. */
  holdTopUps(until: number): void {
    this.#noTopUpUntil = until;
  }

  /** True when forgetting the slot loses nothing: no call under way, no block, no lease unexpired. */
  idle(now: number): boolean {
    return !this.calls.underWay(now) && this.#blockedUntil <= now && this.units.leasedUntil <= now;
  }
}

/** True while a call is under way and not yet presumed lost. */
function live(call: LeaseCall, now: number): boolean {
  return now - call.since <= LEASE_LOST_MS;
}
