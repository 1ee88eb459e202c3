/**
 * Row ids: 26 characters of Crockford base32 (ULID layout), 48 bits of milliseconds then 80 bits
 * of randomness, monotonic within one actor so ids sort in insertion order even inside one ms.
 */
const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** Generates increasing ids for one actor. */
export class IdGenerator {
  #lastTime = -1;
  #lastRandom: number[] = [];

  /** The next id: later than every id this generator returned before. */
  next(now = Date.now()): string {
    if (now <= this.#lastTime) {
      increment(this.#lastRandom);
    } else {
      this.#lastTime = now;
      const bytes = crypto.getRandomValues(new Uint8Array(16));
      this.#lastRandom = [...bytes].map((b) => b & 31);
      this.#lastRandom[0] = (this.#lastRandom[0] as number) & 15; // room to increment without overflow
    }
    let time = "";
    let t = this.#lastTime;
    for (let i = 0; i < 10; i++) {
      time = ALPHABET[t % 32] + time;
      t = Math.floor(t / 32);
    }
    return time + this.#lastRandom.map((d) => ALPHABET[d]).join("");
  }
}

function increment(digits: number[]): void {
  for (let i = digits.length - 1; i >= 0; i--) {
    const d = (digits[i] as number) + 1;
    if (d < 32) {
      digits[i] = d;
      return;
    }
    digits[i] = 0;
  }
}
