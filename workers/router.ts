import { Router } from "itty-router";
import { HttpError } from "../shared/errors";
import type { AppRequest, Args, RouteStep } from "./context";
import { authenticate } from "./middleware/auth";
import { corsify, preflight } from "./middleware/cors";
import { finishResponse, renderError, withRequestState } from "./middleware/errors";
import { internalGuard } from "./middleware/internal-guard";
import { admitBlock } from "./middleware/live-blocks";
import { rateLimit, rateLimitEarly } from "./middleware/rate-limit";
import { requireRule, withBlock } from "./middleware/rules";
import { exportBlock, getSchema, importBlock, listBlocks, requireService } from "./routes/admin";
import { endAccountSessions, findAccounts, updateAccount } from "./routes/admin-accounts";
import { getUser, jwks, link, refresh, rotateKeys, signIn, signInAnonymously, signOut, signUp, updateUser } from "./routes/auth";
import { readOutbox, recover, requestVerification, resetPassword, verifyEmail } from "./routes/auth-email";
import { exchangeCode, oauthCallback, startOAuth } from "./routes/auth-oauth";
import { deleteRow, deleteRows, getRow, insertRows, listRows, runBatch, updateRow, updateRows } from "./routes/db";
import { health } from "./routes/health";
import { openApi } from "./routes/openapi";
import { decide, peek, reset } from "./routes/rate-limit";
import { consoleAsset, toConsole } from "./routes/console";
import { connectRealtime } from "./routes/realtime";
import { postgrest, restDelete, restInsert, restRead, restUpdate, rpcNotSupported, withProfileBlock } from "./routes/postgrest";

/**
 * The route table and the middleware order, nothing else. Order: error boundary (request id,
 * timing, problem+json in `catch`), CORS preflight, the rate limiter's early in-isolate tier (deny
 * only, before any signature is checked), auth, the rate limiter keyed by the verified caller,
 * internal guard, then per route the block parse, block-level rules and the live-block bound, then the handler.
 * `finally` adds ids and timing, writes the log line, then adds CORS.
 */
export const router = Router<AppRequest, Args>({
  before: [beforeRoute],
  catch: renderError,
  finally: [(response: Response | undefined, request: AppRequest, env: Env) => afterRoute(response, request, env)],
});

/**
 * Every request's steps before its route, in the order above, as one step: synchronous until one
 * has to wait (a signature not verified before, a lease to ask the rate limiter for), so the
 * common request pays for no promise between them.
 */
function beforeRoute(request: AppRequest, env: Env, ctx: ExecutionContext): Response | undefined | Promise<undefined> {
  withRequestState(request);
  const answer = preflight(request, env);
  if (answer !== undefined) return answer;
  rateLimitEarly(request, env);
  const authenticated = authenticate(request, env);
  if (authenticated instanceof Promise) return authenticated.then(() => afterAuthentication(request, env, ctx));
  return afterAuthentication(request, env, ctx);
}

function afterAuthentication(request: AppRequest, env: Env, ctx: ExecutionContext): undefined | Promise<undefined> {
  const limited = rateLimit(request, env, ctx);
  if (limited instanceof Promise)
    return limited.then(() => {
      internalGuard(request);
      return undefined;
    });
  internalGuard(request);
  return undefined;
}

/** Every response's steps: ids, timing and the log line, then CORS. */
function afterRoute(response: Response | undefined, request: AppRequest, env: Env): Response | Promise<Response> {
  const finished = finishResponse(response, request, env);
  if (finished instanceof Promise) return finished.then((out) => corsify(out, request, env));
  return corsify(finished, request, env);
}

type Method = "get" | "post" | "patch" | "delete" | "all";

/**
 * Registers a route whose steps all take the Worker's arguments. Left to itself, itty infers a
 * route's arguments from its first step (`withBlock` takes none), which made `env` optional in
 * every handler; naming them here keeps handlers typed as (request, env, ctx).
 */
function route(method: Method, path: string, ...steps: RouteStep[]): void {
  router[method]<AppRequest, Args>(path, ...steps);
}

route("get", "/api/health", health);
route("get", "/api/openapi.json", openApi);
route("get", "/api/db/:block/tables/:table", withBlock, requireRule("read"), admitBlock, listRows);
route("post", "/api/db/:block/tables/:table", withBlock, requireRule("insert"), admitBlock, insertRows);
route("patch", "/api/db/:block/tables/:table", withBlock, requireRule("update"), admitBlock, updateRows);
route("delete", "/api/db/:block/tables/:table", withBlock, requireRule("delete"), admitBlock, deleteRows);
route("get", "/api/db/:block/tables/:table/:id", withBlock, requireRule("read"), admitBlock, getRow);
route("patch", "/api/db/:block/tables/:table/:id", withBlock, requireRule("update"), admitBlock, updateRow);
route("delete", "/api/db/:block/tables/:table/:id", withBlock, requireRule("delete"), admitBlock, deleteRow);
route("post", "/api/db/:block/batch", withBlock, admitBlock, runBatch);
route("get", "/api/realtime/:block", withBlock, admitBlock, connectRealtime);
// PostgREST wire compatibility (docs/postgrest.md): the block is the schema on /rest/v1
// (Accept-/Content-Profile), or in the path on /api/rest.
for (const [base, block] of [
  ["/rest/v1", withProfileBlock],
  ["/api/rest/:block", withBlock],
] as const) {
  const read = postgrest(block, requireRule("read"), admitBlock, restRead);
  route("get", `${base}/:table`, read);
  router.head<AppRequest, Args>(`${base}/:table`, read);
  route("post", `${base}/:table`, postgrest(block, requireRule("insert"), admitBlock, restInsert));
  route("patch", `${base}/:table`, postgrest(block, requireRule("update"), admitBlock, restUpdate));
  route("delete", `${base}/:table`, postgrest(block, requireRule("delete"), admitBlock, restDelete));
  route("all", `${base}/rpc/:fn`, postgrest(rpcNotSupported));
}
route("post", "/api/ratelimit/:key", decide);
route("get", "/api/ratelimit/:key", peek);
route("delete", "/api/ratelimit/:key", reset);
route("get", "/api/admin/blocks", requireService, listBlocks);
route("get", "/api/admin/schema", requireService, getSchema);
route("get", "/api/admin/blocks/:block/export", requireService, withBlock, admitBlock, exportBlock);
route("post", "/api/admin/blocks/:block/import", requireService, withBlock, admitBlock, importBlock);
route("get", "/api/admin/accounts", requireService, findAccounts);
route("patch", "/api/admin/accounts/:id", requireService, updateAccount);
route("delete", "/api/admin/accounts/:id/sessions", requireService, endAccountSessions);
route("post", "/api/auth/signup", signUp);
route("post", "/api/auth/signin", signIn);
route("post", "/api/auth/refresh", refresh);
route("post", "/api/auth/signout", signOut);
route("get", "/api/auth/user", getUser);
route("patch", "/api/auth/user", updateUser);
route("post", "/api/auth/anonymous", signInAnonymously);
route("post", "/api/auth/link", link);
route("post", "/api/auth/verify/request", requestVerification);
route("post", "/api/auth/verify", verifyEmail);
route("post", "/api/auth/recover", recover);
route("post", "/api/auth/reset", resetPassword);
route("get", "/api/auth/outbox", readOutbox);
route("post", "/api/auth/keys/rotate", rotateKeys);
route("post", "/api/auth/oauth/exchange", exchangeCode);
route("get", "/api/auth/oauth/:provider", startOAuth);
route("get", "/api/auth/oauth/:provider/callback", oauthCallback);
route("get", "/.well-known/jwks.json", jwks);
route("get", "/", toConsole);
route("get", "/console", consoleAsset);
route("get", "/console/*", consoleAsset);
route("all", "*", notFoundOrWrongMethod);

/** 405 with `Allow` when the path exists under other methods, else 404. */
function notFoundOrWrongMethod(request: AppRequest): never {
  const path = request.state.path;
  const allowed = new Set<string>();
  for (const [method, pattern] of router.routes) {
    if (method !== "ALL" && pattern.test(path)) allowed.add(method);
  }
  if (allowed.size > 0) {
    allowed.add("OPTIONS");
    throw new HttpError(405, "METHOD_NOT_ALLOWED", `${request.method} is not supported here; use ${[...allowed].join(", ")}.`, {
      headers: { Allow: [...allowed].join(", ") },
    });
  }
  throw new HttpError(404, "NOT_FOUND", `No route matches ${path}; see the API reference in docs/api.md.`);
}
