/**
 * Operator routes, service key only: a block's export and import as NDJSON, streamed both ways
 * (docs/operations.md, "Export and import").
 */
import { HttpError } from "../../shared/errors";
import { unwrap } from "../../shared/rpc";
import { databaseFor } from "../../objects/database/contract";
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
