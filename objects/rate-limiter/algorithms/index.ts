/** The algorithms by name. */
import type { RateLimitAlgorithm } from "../../../shared/config";
import type { Algorithm } from "./algorithm";
import { fixedWindow } from "./fixed-window";
import { gcra } from "./gcra";
import { slidingWindow } from "./sliding-window";
import { tokenBucket } from "./token-bucket";

export type { Algorithm, Status } from "./algorithm";

/** What every algorithm's state has in common: the time it was last brought up to date. */
export interface TimedState {
  at: number;
}

/** Every algorithm by its config name; the actor and the tests look them up here. */
export const ALGORITHMS: Record<RateLimitAlgorithm, Algorithm<TimedState>> = {
  gcra: gcra as Algorithm<TimedState>,
  token_bucket: tokenBucket as Algorithm<TimedState>,
  sliding_window: slidingWindow as Algorithm<TimedState>,
  fixed_window: fixedWindow as Algorithm<TimedState>,
};
