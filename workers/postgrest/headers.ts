/**
 * The request headers PostgREST gives meaning to: `Prefer` (return, count, resolution, handling,
 * max-affected, tx, missing), `Accept` (an array, or one object with vnd.pgrst.object+json) and
 * `Range`. A known preference with a value we cannot honour is a 400, never silently ignored.
 */
import { PostgrestError, notSupported, parseError } from "./errors";

/** What the `Prefer` header asks for. */
export interface Preferences {
  /** `minimal` (the default for writes): no body; `representation`: the rows. */
  return: "minimal" | "representation";
  /** `count=exact|planned|estimated`: all are exact here. */
  count: boolean;
  /** `resolution=merge-duplicates|ignore-duplicates`: an insert becomes an upsert. */
  resolution: "merge" | "ignore" | null;
  /** `max-affected=<n>` with `handling=strict`: refuse a write by filter touching more rows. */
  maxAffected: number | null;
}

const KNOWN_VALUES: Record<string, readonly string[]> = {
  return: ["minimal", "representation", "headers-only"],
  count: ["exact", "planned", "estimated"],
  resolution: ["merge-duplicates", "ignore-duplicates"],
  missing: ["default", "null"],
  handling: ["strict", "lenient"],
  tx: ["commit", "rollback"],
};

/** Parses `Prefer` (comma-separated, possibly repeated; a later value of the same preference wins). */
export function parsePrefer(header: string | null): Preferences {
  const found = new Map<string, string>();
  const unknown: string[] = [];
  for (const item of (header ?? "").split(",")) {
    const text = item.split(";")[0]?.trim() ?? "";
    if (text === "") continue;
    const eq = text.indexOf("=");
    const name = (eq === -1 ? text : text.slice(0, eq)).trim().toLowerCase();
    const value = eq === -1 ? "" : text.slice(eq + 1).trim();
    const allowed = KNOWN_VALUES[name];
    if (allowed !== undefined && !allowed.includes(value)) {
      throw badPrefer(`Prefer: ${name}= takes ${allowed.join(", ")}; got "${value.slice(0, 64)}".`);
    }
    if (name === "max-affected" && !/^\d{1,9}$/.test(value)) {
      throw badPrefer(`Prefer: max-affected= takes a whole number; got "${value.slice(0, 64)}".`);
    }
    if (allowed === undefined && name !== "max-affected" && name !== "timezone") unknown.push(name);
    found.set(name, value);
  }
  const strict = found.get("handling") === "strict";
  if (strict && unknown.length > 0) throw badPrefer(`Unknown preferences with handling=strict: ${unknown.join(", ").slice(0, 200)}.`);
  if (found.get("tx") === "rollback") throw notSupported("Prefer: tx=rollback is not supported: every write here commits.", "PGRST122");
  const resolution = found.get("resolution");
  const maxAffected = found.get("max-affected");
  return {
    return: found.get("return") === "representation" ? "representation" : "minimal",
    count: found.has("count"),
    resolution: resolution === undefined ? null : resolution === "merge-duplicates" ? "merge" : "ignore",
    maxAffected: strict && maxAffected !== undefined ? Number(maxAffected) : null,
  };
}

function badPrefer(message: string): PostgrestError {
  return new PostgrestError(400, "INVALID_REQUEST", "PGRST122", message);
}

/** What the `Accept` header asks for: one object or an array, with or without null-valued keys. */
export interface Representation {
  object: boolean;
  stripNulls: boolean;
}

const ARRAY_TYPES = ["application/json", "application/vnd.pgrst.array+json", "application/*", "*/*"];
const OBJECT_TYPES = ["application/vnd.pgrst.object+json", "application/vnd.pgrst.object"];

/** Parses `Accept`: 406 `PGRST107` when it names only types we do not produce (CSV, GeoJSON, plans). */
export function parseAccept(header: string | null): Representation {
  if (header === null || header.trim() === "") return { object: false, stripNulls: false };
  for (const range of header.split(",")) {
    const [type = "", ...params] = range.split(";").map((part) => part.trim().toLowerCase());
    const stripNulls = params.includes("nulls=stripped");
    if (OBJECT_TYPES.includes(type)) return { object: true, stripNulls };
    if (ARRAY_TYPES.includes(type)) return { object: false, stripNulls };
  }
  throw new PostgrestError(406, "NOT_ACCEPTABLE", "PGRST107", `None of these media types are available: ${header.slice(0, 200)}`, {
    hint: "Ask for application/json or application/vnd.pgrst.object+json.",
  });
}

/** A page as `Range: <from>-<to>` asks for it (`to` absent: to the end). */
export interface RangeRequest {
  offset: number;
  limit: number | null;
}

/** Parses the `Range` request header (`Range-Unit: items` is implied); 416 `PGRST103` when `to` < `from`. */
export function parseRange(header: string | null): RangeRequest | null {
  if (header === null || header.trim() === "") return null;
  const match = /^\s*(?:items=)?(\d{1,15})-(\d{0,15})\s*$/.exec(header);
  if (!match) throw parseError(`Range takes <from>-<to> or <from>-, like "0-9"; got "${header.slice(0, 64)}".`);
  const from = Number(match[1]);
  if (match[2] === "") return { offset: from, limit: null };
  const to = Number(match[2]);
  if (to < from) {
    throw new PostgrestError(416, "INVALID_REQUEST", "PGRST103", "Requested range not satisfiable", {
      details: `The end of the range (${to}) is before its start (${from}).`,
    });
  }
  return { offset: from, limit: to - from + 1 };
}
