/**
 * Fixed window: at most `limit` per window of periodMs. A rolling window starts with the first
 * request after the previous one ended; an aligned window starts at a multiple of periodMs since
 * the Unix epoch (UTC minutes, hours and days for 60,000, 3,600,000 and 86,400,000).
 *
 * Promise: within each window, admitted cost ≤ limit. Two adjacent windows may together admit up
 * to 2 × limit in less than periodMs (their boundary); use sliding_window when that matters.
 */
import type { Algorithm } from "./algorithm";
import { mod } from "./arithmetic";

export interface FixedWindowState {
  at: number;
  /** Start of the current window (ms). */
  start: number;
  used: number;
}

/** Fixed windows, rolling or epoch-aligned (see the file comment for its promise). */
export const fixedWindow: Algorithm<FixedWindowState> = {
  fresh: (policy, now) => ({ at: now, start: policy.aligned ? now - mod(now, policy.periodMs) : now, used: 0 }),

  refresh(policy, state, now) {
    const at = Math.max(now, state.at);
    if (at < state.start + policy.periodMs) return { at, start: state.start, used: state.used };
    return { at, start: policy.aligned ? at - mod(at, policy.periodMs) : at, used: 0 };
  },

  status(policy, state, cost) {
    const remaining = policy.limit - state.used;
    const untilNextWindow = state.start + policy.periodMs - state.at;
    return { remaining, retryAfterMs: cost <= remaining ? 0 : untilNextWindow, resetAfterMs: state.used === 0 ? 0 : untilNextWindow };
  },

  debit: (_policy, state, cost) => ({ at: state.at, start: state.start, used: state.used + cost }),

  // The same window with at least as much used; both start afresh at the same instant after it.
  covers(policy, stored, current) {
    const refreshed = fixedWindow.refresh(policy, stored, current.at);
    return refreshed.start === current.start && refreshed.used >= current.used;
  },
};
