/**
 * The rate-limit API, `/api/ratelimit/<key>`: POST decides, GET peeks, DELETE resets. The Worker
 * resolves policies (config names or inline limits), checks who may use them, and calls the key's
 * RateLimiterDO, which makes every decision serially.
 */
import { limiterFor } from "../../objects/rate-limiter/contract";
import type { Caller } from "../../shared/caller";
import { HttpError } from "../../shared/errors";
import { type Decision, type DecisionMode, DECISION_MODES } from "../../shared/rate-limit/decision";
import { decisionHeaders } from "../../shared/rate-limit/headers";
import { type Policy, configPolicy, hasInlineFields, inlinePolicy } from "../../shared/rate-limit/policy";
import { unwrap } from "../../shared/rpc";
import { config } from "../config";
import { type AppRequest, json } from "../context";
import { discardBody, readJson } from "../middleware/body";

/** Longest key accepted, in characters. */
export const MAX_KEY_LENGTH = 256;
/** Most policies in one decision. */
export const MAX_POLICIES = 10;
/** Longest `requestId` accepted. */
export const MAX_REQUEST_ID_LENGTH = 128;

const BODY_FIELDS = new Set(["policy", "policies", "limit", "periodMs", "burst", "algorithm", "aligned", "cost", "mode", "requestId"]);
const QUERY_FIELDS = new Set(["policy", "limit", "periodMs", "burst", "algorithm", "aligned"]);

/** POST: decide a request of `cost` units against one or more policies. */
export async function decide(request: AppRequest, env: Env): Promise<Response> {
  const key = routeKey(request);
  if (request.state.caller?.kind === "anonymous") await discardBody(request); // see discardBody: unread uploads turn into 503s under wrangler dev
  requireSignedIn(request.state.caller);
  const body = await readJson(request, config.limits.maxBodyBytes);
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw badRequest("The body must be a JSON object.");
  const fields = body as Record<string, unknown>;
  const unknown = Object.keys(fields).filter((field) => !BODY_FIELDS.has(field));
  if (unknown.length > 0) throw badRequest(`Unknown field(s) ${unknown.map((f) => `"${f}"`).join(", ")}; see docs/rate-limiting.md.`);
  const policies = bodyPolicies(fields);
  authorize(request.state.caller, key, policies);
  const cost = fields.cost ?? 1;
  if (typeof cost !== "number" || !Number.isInteger(cost) || cost < 0) throw badRequest("cost must be a non-negative integer (0 peeks).");
  const mode = fields.mode ?? "enforce";
  if (typeof mode !== "string" || !(DECISION_MODES as readonly string[]).includes(mode))
    throw badRequest(`mode must be one of ${DECISION_MODES.join(", ")}.`);
  const requestId = fields.requestId ?? null;
  if (requestId !== null && (typeof requestId !== "string" || requestId.length === 0 || requestId.length > MAX_REQUEST_ID_LENGTH)) {
    throw badRequest(`requestId must be a string of 1 to ${MAX_REQUEST_ID_LENGTH} characters.`);
  }
  const decision = unwrap(await limiterFor(env, apiName(key)).decide({ policies, cost, mode: mode as DecisionMode, requestId }));
  return respond(decision, fields.policies !== undefined);
}

/** GET: what the policies allow right now, changing nothing (`?policy=` or inline `?limit=&periodMs=`). */
export async function peek(request: AppRequest, env: Env): Promise<Response> {
  const key = routeKey(request);
  requireSignedIn(request.state.caller);
  const policies = queryPolicies(request);
  if (policies === null) throw badRequest("Name the policy to peek: ?policy=<name>, or inline ?limit=&periodMs=.");
  authorize(request.state.caller, key, policies);
  const decision = unwrap(await limiterFor(env, apiName(key)).peek(policies));
  return respond(decision, policies.length > 1);
}

/** DELETE: forget the key's state (all of it, or the `?policy=` named ones). Service key only. */
export async function reset(request: AppRequest, env: Env): Promise<Response> {
  const key = routeKey(request);
  const caller = requireSignedIn(request.state.caller);
  if (caller.kind !== "service") throw new HttpError(403, "FORBIDDEN", "Only the service key may reset a rate-limit key.");
  const policies = queryPolicies(request);
  unwrap(await limiterFor(env, apiName(key)).reset(policies));
  return new Response(null, { status: 204 });
}

function respond(decision: Decision, listPolicies: boolean): Response {
  const { policies, ...summary } = decision;
  return json(listPolicies || policies.length > 1 ? decision : summary, 200, decisionHeaders(decision));
}

/** The actor that owns an API key: `key:<key>` (platform callers use `platform:` and can never collide). */
function apiName(key: string): string {
  return `key:${key}`;
}

function routeKey(request: AppRequest): string {
  let key: string;
  try {
    key = decodeURIComponent(request.params.key ?? "");
  } catch (cause) {
    throw new HttpError(400, "INVALID_KEY", "The key is not valid percent-encoding.", { cause });
  }
  if (key.length === 0 || key.length > MAX_KEY_LENGTH || /[\u0000-\u001f\u007f]/.test(key)) {
    throw new HttpError(400, "INVALID_KEY", `A key is 1 to ${MAX_KEY_LENGTH} characters without control characters.`);
  }
  return key;
}

function requireSignedIn(caller: Caller | undefined): Exclude<Caller, { kind: "anonymous" }> {
  if (!caller) throw new Error("the rate-limit routes need authenticate first");
  if (caller.kind === "anonymous") throw new HttpError(401, "AUTH_REQUIRED", "Sign in or send the service key to use the rate-limit API.");
  return caller;
}

/**
 * The service key may do anything. A signed-in caller may only name config policies marked
 * `public`, only on keys prefixed with its own `sub` and a colon, and never send inline limits.
 */
function authorize(caller: Caller | undefined, key: string, policies: readonly Policy[]): void {
  const signedIn = requireSignedIn(caller);
  if (signedIn.kind === "service") return;
  const inline = policies.find((p) => p.inline);
  if (inline)
    throw new HttpError(403, "FORBIDDEN", "Only the service key may send inline limits; name a public policy from the config instead.");
  const closed = policies.find((p) => config.rateLimits.policies[p.name]?.public !== true);
  if (closed) throw new HttpError(403, "FORBIDDEN", `Policy "${closed.name}" is not public; only the service key may use it.`);
  if (!key.startsWith(`${signedIn.sub}:`)) {
    throw new HttpError(403, "FORBIDDEN", `Signed-in callers may only limit their own keys, "${signedIn.sub}:<anything>".`);
  }
}

function bodyPolicies(fields: Record<string, unknown>): Policy[] {
  const ways = [fields.policy !== undefined, fields.policies !== undefined, hasInlineFields(fields)].filter(Boolean).length;
  if (ways === 0)
    throw badRequest('Name a policy ("policy": "<name>"), several ("policies": [...]), or send inline limits ("limit" and "periodMs").');
  if (ways > 1) throw badRequest('Use only one of "policy", "policies" or inline limits.');
  if (fields.policy !== undefined) return [namedPolicy(fields.policy)];
  if (fields.policies === undefined) return [inlinePolicy(fields, "inline-0")];
  const list = fields.policies;
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_POLICIES)
    throw badRequest(`policies must be an array of 1 to ${MAX_POLICIES} policies.`);
  const policies = list.map((item: unknown, i) => {
    if (typeof item === "string") return namedPolicy(item);
    if (typeof item === "object" && item !== null && !Array.isArray(item)) {
      const extra = Object.keys(item).filter((f) => !["limit", "periodMs", "burst", "algorithm", "aligned"].includes(f));
      if (extra.length > 0) throw badRequest(`policies[${i}] has unknown field(s) ${extra.map((f) => `"${f}"`).join(", ")}.`);
      return inlinePolicy(item as Record<string, unknown>, `inline-${i}`);
    }
    throw badRequest(`policies[${i}] must be a policy name or an object with limit and periodMs.`);
  });
  const names = new Set(policies.map((p) => p.name));
  if (names.size < policies.length) throw badRequest("policies names the same policy twice.");
  return policies;
}

function namedPolicy(name: unknown): Policy {
  if (typeof name !== "string") throw badRequest("policy must be the name of a policy from the config.");
  const policyConfig = Object.hasOwn(config.rateLimits.policies, name) ? config.rateLimits.policies[name] : undefined;
  if (!policyConfig) {
    const known = Object.keys(config.rateLimits.policies);
    throw new HttpError(422, "UNKNOWN_POLICY", `No policy "${name}" in the config${known.length ? `; known: ${known.join(", ")}` : ""}.`, {
      errors: { policy: "unknown" },
    });
  }
  return configPolicy(name, policyConfig);
}

/** Policies from the query string, or null when none is named. */
function queryPolicies(request: AppRequest): Policy[] | null {
  const query = request.query as Record<string, string | string[] | undefined>;
  const unknown = Object.keys(query).filter((field) => !QUERY_FIELDS.has(field));
  if (unknown.length > 0) throw badRequest(`Unknown query parameter(s) ${unknown.join(", ")}.`);
  const names = query.policy === undefined ? [] : ([] as string[]).concat(query.policy);
  const inline: Record<string, unknown> = {};
  for (const field of ["limit", "periodMs", "burst", "algorithm", "aligned"]) {
    const value = query[field];
    if (value === undefined) continue;
    if (Array.isArray(value)) throw badRequest(`Give ${field} once.`);
    inline[field] =
      field === "algorithm"
        ? value
        : field === "aligned"
          ? value === "true"
            ? true
            : value === "false"
              ? false
              : value
          : /^\d{1,16}$/.test(value)
            ? Number(value)
            : value;
  }
  if (names.length > 0 && hasInlineFields(inline)) throw badRequest("Use either ?policy= or inline limits, not both.");
  if (names.length > MAX_POLICIES) throw badRequest(`Name at most ${MAX_POLICIES} policies.`);
  if (names.length > 0) return [...new Set(names)].map(namedPolicy);
  return hasInlineFields(inline) ? [inlinePolicy(inline, "inline-0")] : null;
}

function badRequest(detail: string): HttpError {
  return new HttpError(400, "INVALID_REQUEST", detail);
}
