import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BoundedMap } from "../workers/middleware/bounded-map";

/** A map of expiry times, expired once the test's clock reaches them. */
function expiring(maxEntries: number) {
  const clock = { now: 0 };
  const map = new BoundedMap<string, number>(maxEntries, (expiresAt) => expiresAt <= clock.now);
  return { clock, map };
}

describe("BoundedMap", () => {
  it("evicts expired entries first, then the oldest", () => {
    const { clock, map } = expiring(3);
    map.set("a", 100);
    map.set("b", 5);
    map.set("c", 100);
    clock.now = 10;
    map.set("d", 100); // full: b has expired, so b goes, though a is older
    expect([map.get("a"), map.get("b"), map.get("c"), map.get("d")]).toEqual([100, undefined, 100, 100]);
    map.set("e", 100); // full, nothing expired: the oldest (a) goes
    expect([map.get("a"), map.get("c"), map.get("d"), map.get("e")]).toEqual([undefined, 100, 100, 100]);
    expect(map.size).toBe(3);
  });

  it("drops every expired entry at once when it makes room", () => {
    const { clock, map } = expiring(4);
    for (const key of ["a", "b", "c"]) map.set(key, 5);
    map.set("d", 100);
    clock.now = 5;
    map.set("e", 100);
    expect(map.size).toBe(2);
    expect([map.get("d"), map.get("e")]).toEqual([100, 100]);
  });

  it("updates a key in place without evicting anything, and the key keeps its age", () => {
    const { map } = expiring(2);
    map.set("a", 100);
    map.set("b", 100);
    map.set("a", 200); // an update, not an addition: nothing evicted
    expect([map.get("a"), map.get("b"), map.size]).toEqual([200, 100, 2]);
    map.set("c", 100); // a is still the oldest
    expect([map.get("a"), map.get("b"), map.get("c")]).toEqual([undefined, 100, 100]);
  });

  it("never holds more than its cap, and always holds the key just set", () => {
    const op = fc.record({
      key: fc.integer({ min: 0, max: 30 }),
      expiresAt: fc.integer({ min: 0, max: 50 }),
      advance: fc.integer({ min: 0, max: 5 }),
      remove: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.array(op, { maxLength: 200 }), (cap, ops) => {
        const { clock, map } = expiring(cap);
        for (const { key, expiresAt, advance, remove } of ops) {
          clock.now += advance;
          if (remove) {
            map.delete(String(key));
            expect(map.get(String(key))).toBeUndefined();
          } else {
            map.set(String(key), expiresAt);
            expect(map.get(String(key))).toBe(expiresAt);
          }
          expect(map.size).toBeLessThanOrEqual(cap);
        }
      }),
    );
  });

  it("frees an eighth of the cap at once, so a stream of new keys does not look at every entry for each one", () => {
    const isExpired = (value: number) => {
      looked++;
      return value < 0;
    };
    let looked = 0;
    const map = new BoundedMap<number, number>(800, isExpired);
    for (let key = 0; key < 800; key++) map.set(key, key);
    map.set(800, 800); // full, nothing expired: the oldest 100 go
    expect([map.size, map.get(99), map.get(100)]).toEqual([701, undefined, 100]);
    looked = 0;
    for (let key = 801; key < 900; key++) map.set(key, key); // 99 more fit without looking
    expect([map.size, looked]).toEqual([800, 0]);
  });

  it("refuses a cap below one", () => {
    expect(() => new BoundedMap<string, number>(0, () => true)).toThrow(RangeError);
  });
});
