import { drain } from "../../shared/drain";
import { HttpError } from "../../shared/errors";

/**
 * Deepest array/object nesting a body may have. Actor RPC serializes values recursively and a
 * body nested a few thousand levels deep overflowed its stack (a 500 found by the fuzz suite).
 */
export const MAX_JSON_DEPTH = 64;

/** Throws away the rest of a request body before an early answer (see shared/drain.ts). */
export async function discardBody(request: Request, reader?: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
  if (!reader) {
    const body = request.body;
    if (!body || request.bodyUsed || body.locked) return;
    reader = body.getReader();
  }
  await drain(reader);
}

/**
 * Reads a JSON request body with a byte limit: 415 unless `application/json`, 413 over the limit,
 * 400 for malformed JSON or nesting deeper than `MAX_JSON_DEPTH`. A refused body is discarded
 * before answering (see `discardBody`).
 */
export async function readJson(request: Request, maxBytes: number): Promise<unknown> {
  const type = request.headers.get("Content-Type") ?? "";
  if (!/^application\/json\s*(;|$)/i.test(type)) {
    await discardBody(request);
    throw new HttpError(415, "UNSUPPORTED_MEDIA_TYPE", 'Send the body as JSON with "Content-Type: application/json".');
  }
  const declared = Number(request.headers.get("Content-Length") ?? "NaN");
  if (declared > maxBytes) {
    await discardBody(request);
    throw tooLarge(maxBytes);
  }
  if (!request.body) throw new HttpError(400, "INVALID_JSON", "The request body is empty; send a JSON document.");
  const bytes = await readLimited(request.body, request, maxBytes);
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch (cause) {
    throw new HttpError(400, "INVALID_JSON", "The request body is not valid UTF-8.", { cause });
  }
  if (nestingExceeds(text, MAX_JSON_DEPTH)) {
    throw new HttpError(
      400,
      "JSON_TOO_DEEP",
      `The request body nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels; flatten it.`,
    );
  }
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new HttpError(400, "INVALID_JSON", `The request body is not valid JSON: ${(cause as Error).message}`, { cause });
  }
}

/** Strict UTF-8 (a malformed body is refused, not repaired); `decode` without `stream` keeps no state. */
const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/**
 * Reads the body chunk by chunk and refuses it as soon as it passes the limit, whatever its
 * Content-Length says (a declared length is only trusted to refuse early, never to read at once).
 */
async function readLimited(body: ReadableStream<Uint8Array>, request: Request, maxBytes: number): Promise<Uint8Array> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await discardBody(request, reader);
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

function tooLarge(maxBytes: number): HttpError {
  return new HttpError(413, "BODY_TOO_LARGE", `The request body is larger than ${maxBytes} bytes; split it into smaller requests.`);
}

/** Whether brackets outside strings nest deeper than `limit`; one pass, no parsing. */
function nestingExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}
