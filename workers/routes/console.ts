/**
 * The web console (docs/console.md): `/` redirects to `/console`, and the console's files come from
 * the Worker bundle itself (scripts/build-console.mjs generates the module), each with a content
 * security policy that allows only its own files. No static-assets binding: it would put an asset
 * router in front of every request, API included.
 */
import { HttpError } from "../../shared/errors";
import type { AppRequest } from "../context";
import { CONSOLE_FILES } from "./console-files.generated";

/** Scripts, styles, images and connections from this origin only; no inline code, no framing. */
export const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  png: "image/png",
  svg: "image/svg+xml",
  ico: "image/x-icon",
};

/** GET /: the console is the front door. */
export function toConsole(request: AppRequest): Response {
  return new Response(null, { status: 302, headers: { Location: new URL("/console", request.url).toString() } });
}

/** GET /console, /console/ and /console/<file>: the page (the app routes by hash) and its assets. */
export function consoleAsset(request: AppRequest): Response {
  const path = request.state.path;
  const file = path === "/console" || path === "/console/" ? "index.html" : path.slice("/console/".length);
  const extension = /^[A-Za-z0-9_-][A-Za-z0-9._-]*\.([a-z]+)$/.exec(file)?.[1];
  const type = extension === undefined ? undefined : TYPES[extension];
  const asset = type === undefined ? undefined : CONSOLE_FILES[file];
  if (type === undefined || asset === undefined) throw new HttpError(404, "NOT_FOUND", `The console has no file at ${path.slice(0, 100)}.`);
  const headers: Record<string, string> = {
    "Content-Type": type,
    "Content-Security-Policy": CONSOLE_CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    // Not fingerprinted: revalidate on every load, so a rebuilt console is never mixed with an old one.
    "Cache-Control": "no-cache",
    ETag: asset.etag,
  };
  if (request.headers.get("If-None-Match") === asset.etag) return new Response(null, { status: 304, headers });
  return new Response(asset.body, { headers });
}
