import type { AppRequest, Args } from "../context";

/**
 * The platform limiter's slot (policy `rateLimits.platformPolicy` of the config), keyed by the
 * caller. Filled by the rate-limit issue; until then every request passes.
 */
export async function rateLimit(_request: AppRequest, _env: Args[0], _ctx: Args[1]): Promise<void> {}
