/**
 * The operator's accounts routes, service key only (docs/auth.md, "Operators: look up, disable, end
 * sessions"): find an account by email or id, disable or enable it, end its sessions. The web
 * console's Accounts page uses them. Each answer comes from the account's own AccountDO.
 */
import { type AccountView, USER_ID, accountFor } from "../../objects/account/contract";
import { emailIdentity } from "../../objects/identity/contract";
import { unwrap } from "../../shared/rpc";
import { badRequest, normalizeEmail, readFields } from "../accounts/input";
import { type AppRequest, json } from "../context";

/**
 * GET /api/admin/accounts?email=<address> or ?id=<user id>: 200 `{"items": [account]}` with zero or
 * one account. The email is normalised as signup does and resolved through its identity.
 */
export async function findAccounts(request: AppRequest, env: Env): Promise<Response> {
  const email = queryValue(request, "email");
  const id = queryValue(request, "id");
  if ((email === undefined) === (id === undefined))
    throw badRequest('Look an account up by exactly one of "email" (?email=alice@example.com) or "id" (?id=u…).');
  const userId = id !== undefined ? userIdOf(id) : unwrap(await emailIdentity(env, normalizeEmail(email ?? "")).owner());
  const account = userId === null ? null : unwrap(await accountFor(env, userId).view());
  return json({ items: account === null ? [] : [account] });
}

/** PATCH /api/admin/accounts/:id `{"disabled": boolean}`: 200 the account; disabling ends every session. */
export async function updateAccount(request: AppRequest, env: Env): Promise<Response> {
  const userId = userIdOf(String(request.params.id));
  const fields = await readFields(request, ["disabled"]);
  if (typeof fields.disabled !== "boolean") throw badRequest('Send {"disabled": true} or {"disabled": false}.');
  const account: AccountView = unwrap(await accountFor(env, userId).setDisabled(fields.disabled));
  return json(account);
}

/** DELETE /api/admin/accounts/:id/sessions: 200 `{"ended": n}`, every session of the account ended. */
export async function endAccountSessions(request: AppRequest, env: Env): Promise<Response> {
  const userId = userIdOf(String(request.params.id));
  return json(unwrap(await accountFor(env, userId).endSessions()));
}

/** A single query parameter, or undefined; a repeated one is 400. */
function queryValue(request: AppRequest, name: string): string | undefined {
  const value: unknown = request.query[name];
  if (value === undefined || typeof value === "string") return value;
  throw badRequest(`Give "${name}" once.`);
}

/** A user id (`u` and 20 lowercase letters or digits), else 400 before any actor is asked. */
function userIdOf(raw: string): string {
  if (!USER_ID.test(raw)) throw badRequest(`${JSON.stringify(raw.slice(0, 64))} is not a user id (u and 20 lowercase letters or digits).`);
  return raw;
}
