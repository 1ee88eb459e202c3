/**
 * The Worker entry (wrangler's `main`): routes every request to a named actor. The Durable Object
 * classes are re-exported here so the runtime can bind them.
 */
import { router } from "./router";

export { AccountDO } from "../objects/account/account-do";
export { CatalogDO } from "../objects/catalog/catalog-do";
export { DatabaseDO } from "../objects/database/database-do";
export { IdentityDO } from "../objects/identity/identity-do";
export { OutboxDO } from "../objects/outbox/outbox-do";
export { RateLimiterDO } from "../objects/rate-limiter/rate-limiter-do";
export { RealtimeDO } from "../objects/realtime/realtime-do";
export { SignInFlowDO } from "../objects/sign-in-flow/sign-in-flow-do";
export { SigningKeysDO } from "../objects/signing-keys/signing-keys-do";

export default {
  fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    return router.fetch(request, env, ctx);
  },
} satisfies ExportedHandler<Env>;
