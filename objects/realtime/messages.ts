/**
 * Parses client frames into typed protocol messages. Anything malformed becomes an `HttpError`
 * the actor answers with an `error` frame (the socket stays open).
 */
import { ERROR_STATUS, type ErrorCode } from "../../shared/error-codes";
import { HttpError } from "../../shared/errors";
import type { ClientMessage } from "../../shared/protocol";
import type { RealtimeLimits } from "./limits";

/**
 * A client mistake answered with an `error` frame (`HttpError.toFrame`): the one error type, with
 * the status its code is listed under in shared/error-codes.ts.
 */
export function protocolError(code: ErrorCode, message: string, ref?: string): HttpError {
  return new HttpError(ERROR_STATUS[code], code, message, ref === undefined ? {} : { ref });
}

const ID = /^[A-Za-z0-9_.:-]{1,64}$/;

function name(value: unknown, field: string, limits: RealtimeLimits, ref?: string): string {
  if (typeof value !== "string" || value.length === 0 || value.length > limits.maxNameLength) {
    throw protocolError("INVALID_MESSAGE", `"${field}" must be a string of 1-${limits.maxNameLength} characters.`, ref);
  }
  return value;
}

/** Parses one text frame; throws an `HttpError` (see `protocolError`) for anything that is not a known, well-formed message. */
export function parseClientMessage(text: string, limits: RealtimeLimits): ClientMessage {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw protocolError("INVALID_JSON", "Messages are JSON objects with a \"type\".");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw protocolError("INVALID_MESSAGE", "Messages are JSON objects with a \"type\".");
  const m = value as Record<string, unknown>;
  switch (m.type) {
    case "auth":
      if (typeof m.token !== "string" || m.token.length === 0) throw protocolError("INVALID_MESSAGE", '"auth" needs a "token" string.');
      return { type: "auth", token: m.token };
    case "subscribe": {
      if (typeof m.id !== "string" || !ID.test(m.id)) throw protocolError("INVALID_MESSAGE", '"id" must be 1-64 characters of A-Za-z0-9_.:-.');
      const ref = m.id;
      const table = name(m.table, "table", limits, ref);
      const filter = m.filter ?? "";
      if (typeof filter !== "string") throw protocolError("INVALID_FILTER", '"filter" must be a string in the query grammar.', ref);
      if (filter.length > limits.maxFilterLength) throw protocolError("INVALID_FILTER", `"filter" is longer than ${limits.maxFilterLength} characters.`, ref);
      if (m.since !== undefined && m.since !== null && (typeof m.since !== "number" || !Number.isSafeInteger(m.since) || m.since < 0)) {
        throw protocolError("INVALID_MESSAGE", '"since" must be a non-negative integer seq.', ref);
      }
      if (m.snapshot !== undefined && typeof m.snapshot !== "boolean") throw protocolError("INVALID_MESSAGE", '"snapshot" must be true or false.', ref);
      if (m.batch !== undefined && typeof m.batch !== "boolean") throw protocolError("INVALID_MESSAGE", '"batch" must be true or false.', ref);
      if (m.snapshot === true && typeof m.since === "number") throw protocolError("INVALID_MESSAGE", 'Ask for "since" or "snapshot", not both.', ref);
      return {
        type: "subscribe",
        id: ref,
        table,
        filter: filter.startsWith("?") ? filter.slice(1) : filter,
        ...(typeof m.since === "number" ? { since: m.since } : {}),
        ...(m.snapshot === true ? { snapshot: true } : {}),
        ...(m.batch === true ? { batch: true } : {}),
      };
    }
    case "unsubscribe":
      if (typeof m.id !== "string") throw protocolError("INVALID_MESSAGE", '"unsubscribe" needs the subscription "id".');
      return { type: "unsubscribe", id: m.id };
    case "broadcast":
      return { type: "broadcast", channel: name(m.channel, "channel", limits), event: name(m.event, "event", limits), payload: m.payload ?? null };
    case "presence":
      if (m.state === undefined) throw protocolError("INVALID_MESSAGE", '"presence" needs a "state" (any JSON value).');
      return { type: "presence", channel: name(m.channel, "channel", limits), state: m.state };
    case "presence.leave":
      return { type: "presence.leave", channel: name(m.channel, "channel", limits) };
    case "ping":
      return { type: "ping" };
    default:
      throw protocolError("UNKNOWN_TYPE", `Unknown message type ${JSON.stringify(m.type)}; see docs/realtime.md.`);
  }
}
