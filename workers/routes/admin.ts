/**
 * Operator routes, service key only: the catalog of blocks, the schema, and a block's export and
 * import as NDJSON, streamed both ways (docs/operations.md, "Export and import"; docs/console.md).
 */
import config from "../../actorbase.config";
import { type BlockEntry, catalogFor } from "../../objects/catalog/contract";
import { databaseFor } from "../../objects/database/contract";
import { HttpError } from "../../shared/errors";
import { unwrap } from "../../shared/rpc";
import { decodeToken, encodeToken } from "../../shared/token-text";
import { type AppRequest, json } from "../context";

const NDJSON = "application/x-ndjson";

/** Lets only the service key through: 401 without credentials, 403 for a signed-in user. */
export function requireService(request: AppRequest): undefined {
  const kind = request.state.caller?.kind;
  if (kind === "service") return;
  if (kind === "anonymous") throw new HttpError(401, "AUTH_REQUIRED", "Send the service key; admin routes take nothing else.");
  throw new HttpError(403, "FORBIDDEN", "Admin routes take the service key only.");
}

function blockName(request: AppRequest): string {
  const block = request.state.block;
  if (!block) throw new Error("admin routes need withBlock first");
  return block.name;
}

/** GET /api/admin/blocks/:block/export: the block as NDJSON, streamed from its actor. */
export async function exportBlock(request: AppRequest, env: Env): Promise<Response> {
  const name = blockName(request);
  const stream = unwrap(await databaseFor(env, name).exportBlock());
  return new Response(stream, {
    headers: {
      "Content-Type": `${NDJSON}; charset=utf-8`,
      "Content-Disposition": `attachment; filename="${name.replace(/[^A-Za-z0-9_.-]/g, "_")}.ndjson"`,
      "Cache-Control": "no-store",
    },
  });
}

/** POST /api/admin/blocks/:block/import: loads an export into an empty block, all or none. */
export async function importBlock(request: AppRequest, env: Env): Promise<Response> {
  const type = (request.headers.get("Content-Type") ?? "").split(";")[0]?.trim().toLowerCase();
  if (type !== NDJSON) {
    throw new HttpError(415, "UNSUPPORTED_MEDIA_TYPE", `Send the export with Content-Type: ${NDJSON}.`);
  }
  const body = request.body;
  if (!body) throw new HttpError(400, "INVALID_IMPORT", "The request has no body; send an export.");
  // The actor reads the upload itself and cancels it when it refuses early (a pipe through a
  // TransformStream here hung the actor's request when it did).
  const result = await databaseFor(env, blockName(request)).importBlock(body);
  const loaded = unwrap(result);
  return json(loaded, 200, { "X-Seq": String(loaded.seq) });
}

const DEFAULT_PAGE = 100;
const MAX_PAGE = 1_000;

/**
 * GET /api/admin/blocks?namespace=&prefix=&cursor=&limit=: the blocks that exist, from each
 * namespace's catalog, in namespace then name order, a page at a time.
 */
export async function listBlocks(request: AppRequest, env: Env): Promise<Response> {
  const params = new URL(request.url).searchParams;
  const limit = pageSize(params.get("limit"));
  const prefix = params.get("prefix") || null;
  if (prefix !== null && prefix.length > 200) throw new HttpError(400, "INVALID_QUERY", "prefix is at most 200 characters.");
  const namespace = params.get("namespace") || null;
  if (namespace !== null && !Object.hasOwn(config.namespaces, namespace)) {
    throw new HttpError(404, "NAMESPACE_NOT_FOUND", `Namespace "${namespace.slice(0, 64)}" is not declared in actorbase.config.ts.`);
  }
  // A prefix with a colon names its namespace; without one it may be the start of a namespace's name.
  const namespaces = (namespace === null ? Object.keys(config.namespaces).sort() : [namespace]).filter(
    (ns) => prefix === null || (prefix.includes(":") ? prefix.slice(0, prefix.indexOf(":")) === ns : ns.startsWith(prefix)),
  );
  const cursor = readCursor(params.get("cursor"));
  let start = 0;
  if (cursor !== null) {
    start = namespaces.indexOf(cursor[0]);
    if (start === -1) throw new HttpError(400, "INVALID_CURSOR", "This cursor belongs to another listing; start again without it.");
  }
  const items: BlockEntry[] = [];
  let nextCursor: string | null = null;
  for (let i = start; i < namespaces.length; i++) {
    const ns = namespaces[i] as string;
    const want = limit - items.length;
    const page = await catalogFor(env, ns).list({ after: i === start && cursor ? cursor[1] : null, prefix, limit: want + 1 });
    items.push(...page.slice(0, want));
    if (items.length === limit) {
      const last = items[items.length - 1] as BlockEntry;
      if (page.length > want || i < namespaces.length - 1) nextCursor = writeCursor([last.namespace, last.name]);
      break;
    }
  }
  return json({ items, nextCursor });
}

function pageSize(text: string | null): number {
  if (text === null || text === "") return DEFAULT_PAGE;
  const limit = Number(text);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
    throw new HttpError(400, "INVALID_LIMIT", `limit must be an integer from 1 to ${MAX_PAGE}, got "${text.slice(0, 20)}".`);
  }
  return limit;
}

/** A catalog cursor: the namespace and the last name of the page. */
function writeCursor(position: [string, string]): string {
  return encodeToken(position);
}

function readCursor(text: string | null): [string, string] | null {
  if (text === null || text === "") return null;
  try {
    const position = decodeToken(text);
    if (Array.isArray(position) && position.length === 2 && position.every((part) => typeof part === "string")) {
      return position as [string, string];
    }
  } catch {
    // falls through to the 400 below
  }
  throw new HttpError(400, "INVALID_CURSOR", "The cursor is not one this listing gave out; start again without it.");
}

let schemaBody: string | null = null;

/** GET /api/admin/schema: the config as JSON, each rule and hook by its function's name only. */
export function getSchema(): Response {
  schemaBody ??= JSON.stringify(config, (key, value: unknown) =>
    typeof value === "function" ? (value.name && value.name !== key ? value.name : "(inline)") : value,
  );
  return new Response(schemaBody, { headers: { "Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store" } });
}
