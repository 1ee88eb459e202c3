/**
 * A RealtimeDO's frame budget, as a token bucket: `deliveryFramesPerSecond` refill, one second of
 * them as the burst; a frame costs one plus one per 4 KiB it carries (`FRAME_COST_CHARS`). Frames
 * past the budget are a debt the hand-off waits off (at most `maxHandOffDelayMs`, and the debt is
 * capped at that wait), so a block under sustained load sends fewer, fuller frames and its writes
 * keep the CPU. A hand-off that sent nothing never waits.
 */
import type { RealtimeLimits } from "./limits";

export class FrameBudget {
  /** Frames the budget still allows (negative: owed), as of `#creditAt`. */
  #credit: number;
  #creditAt = Date.now();

  constructor(limits: RealtimeLimits) {
    this.#credit = limits.deliveryFramesPerSecond;
  }

  /** Spends `frames` and returns how long the hand-off should wait them off (ms, 0: none). */
  spend(frames: number, limits: RealtimeLimits): number {
    const { deliveryFramesPerSecond: rate, maxHandOffDelayMs } = limits;
    const now = Date.now();
    // The debt never exceeds one longest wait: a burst delays the next hand-off, not the next minute.
    const floor = (-rate * maxHandOffDelayMs) / 1000;
    this.#credit = Math.max(floor, Math.min(rate, this.#credit + ((now - this.#creditAt) * rate) / 1000) - frames);
    this.#creditAt = now;
    if (frames === 0 || this.#credit >= 0) return 0;
    return Math.min(maxHandOffDelayMs, (-this.#credit * 1000) / rate);
  }
}
