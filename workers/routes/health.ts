import { VERSION } from "../config";
import { json } from "../context";

/** `GET /api/health`: liveness of the Worker (does not touch any actor). */
export function health(): Response {
  return json({ ok: true, version: VERSION });
}
