/**
 * Building blocks for wire shapes: valibot schemas that are written once and give both the
 * TypeScript type (`v.InferOutput`) and the check. Every schema carries the message a caller reads
 * ("which field, what it must be"); the code and status are chosen where the issue is converted.
 */
import * as v from "valibot";

/** A field that must be present and may hold any JSON value, `null` included. */
export function present(message: string) {
  return v.nonOptional(v.unknown(), message);
}

/**
 * An object of `entries` (other keys are dropped) whose missing field fails with that field's own
 * message, as if it were present and wrong, instead of valibot's generic "Invalid key".
 */
export function fields<const TEntries extends v.ObjectEntries>(entries: TEntries) {
  return v.object(entries, (issue) => {
    const key = issue.path?.[0]?.key;
    const field = typeof key === "string" && Object.hasOwn(entries, key) ? (entries[key] as { message?: unknown }) : undefined;
    const message = field?.message;
    if (typeof message === "string") return message;
    return typeof message === "function" ? (message as (issue: v.ObjectIssue) => string)(issue) : issue.message;
  });
}
