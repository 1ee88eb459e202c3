/**
 * Exact integer division for non-negative integers below 2^53. A double quotient can round across
 * an integer boundary when the dividend is large; one correction step fixes that.
 */

/** ⌊a / b⌋ for integers a ≥ 0, b > 0. */
export function floorDiv(a: number, b: number): number {
  let q = Math.floor(a / b);
  if (q * b > a) q -= 1;
  else if ((q + 1) * b <= a) q += 1;
  return q;
}

/** ⌈a / b⌉ for integers a ≥ 0, b > 0. */
export function ceilDiv(a: number, b: number): number {
  const q = floorDiv(a, b);
  return q * b === a ? q : q + 1;
}

/** a mod b for integers, always in [0, b) (JavaScript's % keeps the dividend's sign). */
export function mod(a: number, b: number): number {
  return ((a % b) + b) % b;
}
