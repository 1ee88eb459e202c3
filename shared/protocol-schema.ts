/**
 * The client-to-server messages of the realtime protocol (docs/realtime.md), each written once as a
 * valibot schema: shared/protocol.ts re-exports the types derived here (the client imports them
 * with `import type` and never bundles valibot), and the RealtimeDO checks every frame with them.
 */
import * as v from "valibot";
import { fields, present } from "./wire-shape";

/** The limits a message is checked against: the RealtimeDO passes its `RealtimeLimits`. */
export interface MessageLimits {
  /** Longest table, channel and event name. */
  readonly maxNameLength: number;
  /** Longest subscription filter. */
  readonly maxFilterLength: number;
}

const SUBSCRIPTION_ID = /^[A-Za-z0-9_.:-]{1,64}$/;

/** A table, channel or event name of 1 to `max` characters. */
function name(field: string, max: number) {
  const message = `"${field}" must be a string of 1-${max} characters.`;
  return v.pipe(v.string(message), v.minLength(1, message), v.maxLength(max, message));
}

/** An optional `true` or `false`. */
function flag(field: string) {
  return v.exactOptional(v.boolean(`"${field}" must be true or false.`));
}

/**
 * Every client message, checked against one set of limits (they are per actor instance, so the
 * RealtimeDO builds this once per limits and keeps it). Unknown keys are dropped.
 */
export function clientMessageSchema(limits: MessageLimits) {
  const token = '"auth" needs a "token" string.';
  const id = '"id" must be 1-64 characters of A-Za-z0-9_.:-.';
  const filter = '"filter" must be a string in the query grammar.';
  const seq = '"since" must be a non-negative integer seq.';
  return v.variant("type", [
    fields({ type: v.literal("auth"), token: v.pipe(v.string(token), v.minLength(1, token)) }),
    v.pipe(
      fields({
        type: v.literal("subscribe"),
        /** Client-chosen id, unique on the socket; change messages name it in `sub`. */
        id: v.pipe(v.string(id), v.regex(SUBSCRIPTION_ID, id)),
        table: name("table", limits.maxNameLength),
        /** Row filter in the query grammar (`done=eq.false&priority=gte.3`); empty or absent for all rows. */
        filter: v.exactOptional(
          v.pipe(
            v.nullable(v.string(filter)),
            v.transform((text) => text ?? ""),
            v.maxLength(limits.maxFilterLength, `"filter" is longer than ${limits.maxFilterLength} characters.`),
            v.transform((text) => (text.startsWith("?") ? text.slice(1) : text)),
          ),
        ),
        /** Replay every matching change after this seq, then go live (no gap, no overlap); `null` is no `since`. */
        since: v.exactOptional(
          v.pipe(
            v.nullable(v.pipe(v.number(seq), v.safeInteger(seq), v.minValue(0, seq))),
            v.transform((after) => after ?? undefined),
          ),
        ),
        /** Answer `subscribed` with the matching rows, consistent with the changes that follow. */
        snapshot: flag("snapshot"),
        /**
         * Deliver this subscription's changes as `changes` messages, each carrying every change of one
         * hand-off (or replay page) in seq order, instead of one `change` message per change.
         */
        batch: flag("batch"),
      }),
      v.check((m) => !(m.snapshot === true && m.since !== undefined), 'Ask for "since" or "snapshot", not both.'),
    ),
    fields({ type: v.literal("unsubscribe"), id: v.string('"unsubscribe" needs the subscription "id".') }),
    fields({
      type: v.literal("broadcast"),
      channel: name("channel", limits.maxNameLength),
      event: name("event", limits.maxNameLength),
      /** Any JSON value; absent is `null`. */
      payload: v.exactOptional(v.unknown(), null),
    }),
    // "state" before "channel": a presence message without a state is reported as such first.
    fields({
      type: v.literal("presence"),
      state: present('"presence" needs a "state" (any JSON value).'),
      channel: name("channel", limits.maxNameLength),
    }),
    fields({ type: v.literal("presence.leave"), channel: name("channel", limits.maxNameLength) }),
    fields({ type: v.literal("ping") }),
  ]);
}

/** A client message as the RealtimeDO receives it, after the checks and normalisations above. */
export type ClientMessage = v.InferOutput<ReturnType<typeof clientMessageSchema>>;
export type AuthMessage = Extract<ClientMessage, { type: "auth" }>;
export type SubscribeMessage = Extract<ClientMessage, { type: "subscribe" }>;
export type UnsubscribeMessage = Extract<ClientMessage, { type: "unsubscribe" }>;
export type BroadcastMessage = Extract<ClientMessage, { type: "broadcast" }>;
export type PresenceMessage = Extract<ClientMessage, { type: "presence" }>;
export type PresenceLeaveMessage = Extract<ClientMessage, { type: "presence.leave" }>;
export type PingMessage = Extract<ClientMessage, { type: "ping" }>;
