/**
 * Throwing away the rest of an upload before answering early. Both the Worker (a refused request
 * body) and the DatabaseDO (a refused import) drain rather than cancel: an answer sent while an
 * upload is unread, or just cancelled, can reach the client as a reset connection (workerd) or a
 * 503 "worker restarted mid-request" (wrangler dev; workers-sdk #5095).
 */

/**
 * Uploads up to this size are drained before an early answer; larger ones are cancelled. Draining
 * reads and drops chunks (nothing is kept); past this size the connection may be reset instead.
 */
export const DRAIN_LIMIT_BYTES = 64 * 1024 * 1024;

/** Reads `reader` to its end and drops what it reads, up to DRAIN_LIMIT_BYTES; cancels beyond. */
export async function drain(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
  try {
    for (let read = 0; read <= DRAIN_LIMIT_BYTES; ) {
      const chunk = await reader.read();
      if (chunk.done) return;
      read += chunk.value.byteLength;
    }
    // Not awaited: cancelling a stream that crossed an actor RPC can wait on its sender forever.
    reader.cancel().catch(() => {});
  } catch {
    // The client went away mid-upload: nothing left to discard.
  }
}
