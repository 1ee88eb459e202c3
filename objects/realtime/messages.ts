/**
 * Parses client frames into typed protocol messages with the schemas of shared/protocol-schema.ts.
 * Anything malformed becomes an `HttpError` the actor answers with an `error` frame (the socket
 * stays open).
 */
import * as v from "valibot";
import { ERROR_STATUS, type ErrorCode } from "../../shared/error-codes";
import { HttpError } from "../../shared/errors";
import type { ClientMessage } from "../../shared/protocol";
import { clientMessageSchema } from "../../shared/protocol-schema";
import type { RealtimeLimits } from "./limits";

/**
 * A client mistake answered with an `error` frame (`HttpError.toFrame`): the one error type, with
 * the status its code is listed under in shared/error-codes.ts.
 */
export function protocolError(code: ErrorCode, message: string, ref?: string): HttpError {
  return new HttpError(ERROR_STATUS[code], code, message, ref === undefined ? {} : { ref });
}

type ClientMessageSchema = ReturnType<typeof clientMessageSchema>;

interface BuiltSchema {
  readonly maxNameLength: number;
  readonly maxFilterLength: number;
  readonly schema: ClientMessageSchema;
  /**
   * The variant's options by `type`. valibot's `variant` tries each option's discriminator in
   * turn, which costs more than checking the message itself; frames of a known type skip it.
   */
  readonly byType: ReadonlyMap<string, ClientMessageSchema["options"][number]>;
}

/** One schema per limits object, rebuilt when a test changes a limit in place. */
const schemas = new WeakMap<RealtimeLimits, BuiltSchema>();
const NOT_A_MESSAGE = 'Messages are JSON objects with a "type".';

function schemaFor(limits: RealtimeLimits): BuiltSchema {
  const built = schemas.get(limits);
  if (built !== undefined && built.maxNameLength === limits.maxNameLength && built.maxFilterLength === limits.maxFilterLength) return built;
  const { maxNameLength, maxFilterLength } = limits;
  const schema = clientMessageSchema({ maxNameLength, maxFilterLength });
  const byType = new Map(schema.options.map((option) => [option.entries.type.literal, option] as const));
  const fresh = { maxNameLength, maxFilterLength, schema, byType };
  schemas.set(limits, fresh);
  return fresh;
}

/** Parses one text frame; throws an `HttpError` (see `protocolError`) for anything that is not a known, well-formed message. */
export function parseClientMessage(text: string, limits: RealtimeLimits): ClientMessage {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw protocolError("INVALID_JSON", NOT_A_MESSAGE);
  }
  const { schema, byType } = schemaFor(limits);
  const type = (value as { type?: unknown } | null)?.type;
  // Without a config, valibot reuses its default one (no allocation per frame) and collects every
  // issue rather than stopping at the first; the first one is still the first field in order.
  const result = v.safeParse((typeof type === "string" && byType.get(type)) || schema, value);
  if (result.success) return result.output;
  throw issueError(result.issues[0], value);
}

/**
 * The error frame for a message's first issue: the schema's message for the field, `INVALID_FILTER`
 * for the filter, and a subscribe message's id as `ref` once that id is valid.
 */
function issueError(issue: v.BaseIssue<unknown>, value: unknown): HttpError {
  if (issue.type === "variant") {
    // Found before any field is read: not an object, or no known "type".
    if (typeof value !== "object" || value === null || Array.isArray(value)) return protocolError("INVALID_MESSAGE", NOT_A_MESSAGE);
    return protocolError(
      "UNKNOWN_TYPE",
      `Unknown message type ${JSON.stringify((value as { type?: unknown }).type)}; see docs/realtime.md.`,
    );
  }
  const field = issue.path?.[0]?.key;
  const message = value as { type: string; id?: unknown };
  const ref = message.type === "subscribe" && field !== "id" ? (message.id as string) : undefined;
  return protocolError(field === "filter" ? "INVALID_FILTER" : "INVALID_MESSAGE", issue.message, ref);
}

const encoder = new TextEncoder();

/** UTF-8 length of a string, exact only up to the point it passes `limit` (cheap for small frames). */
export function utf8Length(text: string, limit: number): number {
  if (text.length * 3 <= limit) return text.length;
  if (text.length > limit) return text.length;
  return encoder.encode(text).byteLength;
}
