/**
 * The web console (docs/console.md): `/` redirects to `/console`, and the console's files come from
 * the ASSETS binding (Workers static assets under `wrangler dev` and deploy, the same folder on
 * disk under `npm start`), each with a content security policy that allows only its own files.
 */
import { HttpError } from "../../shared/errors";
import type { AppRequest } from "../context";

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
export async function consoleAsset(request: AppRequest, env: Env): Promise<Response> {
  const path = request.state.path;
  const file = path === "/console" || path === "/console/" ? "/console/index.html" : path;
  const extension = /^\/console\/[A-Za-z0-9_-][A-Za-z0-9._-]*\.([a-z]+)$/.exec(file)?.[1];
  const type = extension === undefined ? undefined : TYPES[extension];
  if (type === undefined) throw new HttpError(404, "NOT_FOUND", `The console has no file at ${path.slice(0, 100)}.`);
  const asset = await env.ASSETS.fetch(new Request(new URL(file, request.url)));
  if (!asset.ok) {
    await asset.body?.cancel();
    const hint = extension === "html" ? " The console is not built: run `npm run build:console`." : "";
    throw new HttpError(404, "NOT_FOUND", `The console has no file at ${path.slice(0, 100)}.${hint}`);
  }
  const headers: Record<string, string> = {
    "Content-Type": type,
    "Content-Security-Policy": CONSOLE_CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    // Not fingerprinted: revalidate on every load, so a rebuilt console is never mixed with an old one.
    "Cache-Control": "no-cache",
  };
  const etag = asset.headers.get("ETag");
  if (etag) headers.ETag = etag;
  return new Response(asset.body, { headers });
}
