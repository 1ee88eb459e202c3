/**
 * The write headers every write route reads the same way (docs/api.md): `Idempotency-Key` on the
 * native and PostgREST routes, `If-Match` on the native ones.
 */
import type { WriteOptions } from "../objects/database/contract";
import { HttpError } from "../shared/errors";
import type { AppRequest } from "./context";

/** The `Idempotency-Key` header: 1-255 visible ASCII characters, else 400. */
export function idempotencyKey(header: string | null): string | null {
  if (header === null) return null;
  if (!/^[\x21-\x7e]{1,255}$/.test(header))
    throw new HttpError(400, "INVALID_IDEMPOTENCY_KEY", "Idempotency-Key must be 1-255 visible ASCII characters.");
  return header;
}

/** `Idempotency-Key` and `If-Match` (a row's version; `*` or absent means any) as write options. */
export function writeOptions(request: AppRequest): WriteOptions {
  const options: WriteOptions = {};
  const key = idempotencyKey(request.headers.get("Idempotency-Key"));
  if (key !== null) options.idempotencyKey = key;
  const ifMatch = request.headers.get("If-Match");
  if (ifMatch !== null && ifMatch.trim() !== "*") {
    const match = /^\s*(?:W\/)?"?(\d{1,15})"?\s*$/.exec(ifMatch);
    if (!match) throw new HttpError(400, "INVALID_IF_MATCH", 'If-Match takes the row version, like If-Match: "3".');
    options.ifMatch = Number(match[1]);
  }
  return options;
}
