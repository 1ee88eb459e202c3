/**
 * `GET /api/openapi.json`: the OpenAPI 3.1 document (workers/openapi/). It depends only on code and
 * config, so each isolate builds and serializes it once, on first request; the request's origin is
 * spliced into `servers` per request, which costs two string concatenations.
 */
import { buildDocument, routesOf } from "../openapi/document";
// A cycle on purpose: the router imports this handler, and the handler reads the router's table.
// It reads it at request time only, when both modules have finished loading.
import { router } from "../router";
import { VERSION, config } from "../config";
import type { AppRequest } from "../context";

const ORIGIN_MARK = "https://origin.actorbase.invalid";

let serialized: { head: string; tail: string } | null = null;

function document(): { head: string; tail: string } {
  if (serialized) return serialized;
  const text = JSON.stringify(buildDocument({ routes: routesOf(router.routes), config, version: VERSION, serverUrl: ORIGIN_MARK }));
  const at = text.indexOf(ORIGIN_MARK);
  serialized = { head: text.slice(0, at), tail: text.slice(at + ORIGIN_MARK.length) };
  return serialized;
}

/** Serves the document with this request's origin as its server; public, cacheable for a minute. */
export function openApi(request: AppRequest): Response {
  const { head, tail } = document();
  const origin = JSON.stringify(new URL(request.url).origin).slice(1, -1);
  return new Response(head + origin + tail, {
    headers: { "Content-Type": "application/json; charset=utf-8", "Cache-Control": "public, max-age=60" },
  });
}
