/**
 * A Map with a cap, for state a Worker isolate keeps between requests: its memory must stay
 * bounded whatever the number of callers. Adding a key to a full map first drops the entries its
 * owner's `isExpired` rule says are done with, then the oldest (by insertion) until an eighth of
 * the cap is free: looking at every entry then costs a stream of new keys once per eighth of the
 * cap, not once per key (a full map of 10,000 live callers cost each new caller ~240 µs).
 */
export class BoundedMap<K, V> {
  readonly #entries = new Map<K, V>();
  readonly #maxEntries: number;
  readonly #isExpired: (value: V) => boolean;

  constructor(maxEntries: number, isExpired: (value: V) => boolean) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError(`maxEntries must be a positive integer, not ${maxEntries}`);
    this.#maxEntries = maxEntries;
    this.#isExpired = isExpired;
  }

  /** How many entries the map holds (never more than `maxEntries`). */
  get size(): number {
    return this.#entries.size;
  }

  /** The value for `key`, or undefined. */
  get(key: K): V | undefined {
    return this.#entries.get(key);
  }

  /** Sets `key`; a new key in a full map first makes room. Updating a key keeps its age. */
  set(key: K, value: V): void {
    if (!this.#entries.has(key) && this.#entries.size >= this.#maxEntries) this.#makeRoom();
    this.#entries.set(key, value);
  }

  /** Forgets `key`; true when it was there. */
  delete(key: K): boolean {
    return this.#entries.delete(key);
  }

  /** Drops every expired entry, then the oldest ones until an eighth of the cap (at least one entry) is free. */
  #makeRoom(): void {
    for (const [key, value] of this.#entries) {
      if (this.#isExpired(value)) this.#entries.delete(key);
    }
    const keep = this.#maxEntries - Math.max(1, Math.floor(this.#maxEntries / 8));
    for (const key of this.#entries.keys()) {
      if (this.#entries.size <= keep) break;
      this.#entries.delete(key);
    }
  }
}
