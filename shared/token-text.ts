/**
 * Opaque tokens handed to clients (list cursors, the catalog's cursor): JSON, UTF-8, base64url
 * without padding, so they travel in a query string unescaped.
 */

/** Encodes a JSON value as an opaque token. */
export function encodeToken(value: unknown): string {
  const bytes = new TextEncoder().encode(JSON.stringify(value));
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** Decodes a token `encodeToken` made; throws (any error) when it is not one. */
export function decodeToken(token: string): unknown {
  const binary = atob(token.replaceAll("-", "+").replaceAll("_", "/"));
  return JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(Uint8Array.from(binary, (c) => c.charCodeAt(0))));
}
