import { DurableObject } from "cloudflare:workers";

/** One rate-limit key's exact, serial decision maker. */
export class RateLimiterDO extends DurableObject<Env> {}
