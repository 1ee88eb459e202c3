/**
 * Incoming data against a table's columns: what an insert stores, what a PATCH changes (with
 * `$inc` and `$append`). Problems are collected per field and thrown once as 422 VALIDATION_FAILED.
 */
import { type ColumnConfig, checkValue } from "../../shared/config";
import { HttpError } from "../../shared/errors";
import type { TableRuntime } from "./schema";

type Row = Record<string, unknown>;

/** 1-128 of A-Za-z0-9_.-, but not "." or "..": URL paths normalize those away, so the row could never be addressed. */
const ID = /^(?!\.{1,2}$)[A-Za-z0-9_.-]{1,128}$/;
const SERVER_COLUMNS = new Set(["createdAt", "updatedAt", "version"]);

function invalid(table: string, errors: Record<string, string>): HttpError {
  const fields = Object.keys(errors);
  return new HttpError(
    422,
    "VALIDATION_FAILED",
    `The data for "${table}" is not valid: ${fields.map((f) => `${f} ${errors[f]}`).join("; ")}.`,
    { errors },
  );
}

function asObject(table: string, data: unknown): Row {
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    throw new HttpError(422, "VALIDATION_FAILED", `A row for "${table}" must be a JSON object of column values.`);
  }
  return data as Row;
}

/** The declared column values of a new row (defaults applied) and its id if the client gave one. */
export function validateInsert(table: TableRuntime, data: unknown): { id: string | null; values: Row } {
  const input = asObject(table.name, data);
  const errors: Record<string, string> = {};
  let id: string | null = null;
  for (const key of Object.keys(input)) {
    if (key === "id") {
      if (typeof input.id === "string" && ID.test(input.id)) id = input.id;
      else errors.id = 'must be 1-128 characters from A-Za-z0-9_.-, and not "." or ".."';
    } else if (SERVER_COLUMNS.has(key)) errors[key] = "is set by the server and cannot be written";
    else if (!Object.hasOwn(table.config.columns, key)) errors[key] = "is not a column of this table";
  }
  const values: Row = {};
  for (const column of table.declared) {
    const spec = table.config.columns[column] as ColumnConfig;
    let value = Object.hasOwn(input, column) ? input[column] : undefined;
    if (value === undefined || (value === null && spec.default !== undefined && spec.required)) value = spec.default ?? null;
    const problem = value === null && spec.required ? "is required" : (checkValue(spec, value) ?? checkUnicode(value));
    if (problem) errors[column] = problem.startsWith("is ") || problem.startsWith("must") ? problem : `is ${problem}`;
    values[column] = value;
  }
  if (Object.keys(errors).length > 0) throw invalid(table.name, errors);
  return { id, values };
}

/**
 * Checks what a PATCH body can be checked for without a row (an object of declared, writable
 * columns), so a write by filter refuses a bad body even when no row matches. `id` cannot be set.
 */
export function checkPatchShape(table: TableRuntime, data: unknown): void {
  const input = asObject(table.name, data);
  const errors: Record<string, string> = {};
  for (const key of Object.keys(input)) {
    if (key === "id") errors.id = "cannot be changed";
    else if (SERVER_COLUMNS.has(key)) errors[key] = "is set by the server and cannot be written";
    else if (!Object.hasOwn(table.config.columns, key)) errors[key] = "is not a column of this table";
  }
  if (Object.keys(errors).length > 0) throw invalid(table.name, errors);
}

/** Applies a PATCH body to the current row: plain values replace, `$inc` adds, `$append` pushes. */
export function applyPatch(table: TableRuntime, current: Row, data: unknown): Row {
  const input = asObject(table.name, data);
  const errors: Record<string, string> = {};
  const next: Row = { ...current };
  for (const [key, raw] of Object.entries(input)) {
    if (key === "id") {
      if (raw !== current.id) errors.id = "cannot be changed";
      continue;
    }
    if (SERVER_COLUMNS.has(key)) {
      errors[key] = "is set by the server and cannot be written";
      continue;
    }
    if (!Object.hasOwn(table.config.columns, key)) {
      errors[key] = "is not a column of this table";
      continue;
    }
    const spec = table.config.columns[key] as ColumnConfig;
    let value = raw;
    const operation = fieldOperation(raw);
    if (operation && spec.type !== "json") {
      const [op, operand] = operation;
      if (op === "$inc") {
        if (spec.type !== "integer" && spec.type !== "number") {
          errors[key] = "$inc applies to integer and number columns only";
          continue;
        }
        if (typeof operand !== "number" || !Number.isFinite(operand)) {
          errors[key] = "$inc needs a number";
          continue;
        }
        value = ((current[key] as number | null) ?? 0) + operand;
      } else if (op === "$append") {
        if (spec.type !== "array") {
          errors[key] = "$append applies to array columns only";
          continue;
        }
        value = [...((current[key] as unknown[] | null) ?? []), operand];
      } else {
        errors[key] = `unknown field operation ${op}; use $inc or $append`;
        continue;
      }
    }
    if (value === undefined) value = null;
    const problem = value === null && spec.required ? "is required" : (checkValue(spec, value) ?? checkUnicode(value));
    if (problem) errors[key] = problem.startsWith("is ") || problem.startsWith("must") ? problem : `is ${problem}`;
    next[key] = value;
  }
  if (Object.keys(errors).length > 0) throw invalid(table.name, errors);
  return next;
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** SQLite stores UTF-8, where a lone surrogate cannot exist: it would come back as U+FFFD, so refuse it. */
function checkUnicode(value: unknown): string | null {
  const bad = (v: unknown): boolean => {
    if (typeof v === "string") return LONE_SURROGATE.test(v);
    if (Array.isArray(v)) return v.some(bad);
    if (v !== null && typeof v === "object") return Object.entries(v).some(([k, item]) => LONE_SURROGATE.test(k) || bad(item));
    return false;
  };
  return bad(value) ? "must be valid Unicode text (a lone UTF-16 surrogate cannot be stored)" : null;
}

function fieldOperation(value: unknown): [string, unknown] | null {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return null;
  const keys = Object.keys(value);
  if (keys.length !== 1 || !keys[0]?.startsWith("$")) return null;
  return [keys[0], (value as Row)[keys[0]]];
}
