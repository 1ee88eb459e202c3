// Reads local secrets: .dev.vars when present, else .dev.vars.example (the committed dev defaults).
import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The project's root directory. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/**
 * The Worker's secrets, the names `npm start` reads from the environment besides wrangler.toml's
 * [vars]; .dev.vars.example lists the same names (a test keeps the two in step).
 */
export const SECRET_NAMES = ["JWT_SECRET", "SERVICE_KEY", "JWT_JWKS"];

/** Parses a dotenv-style file into an object (KEY=VALUE lines, # comments). */
export function parseVars(text) {
  const vars = {};
  for (const line of text.split(/\r?\n/)) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!match || line.trimStart().startsWith("#")) continue;
    let value = match[2];
    if (/^(["']).*\1$/.test(value)) value = value.slice(1, -1);
    vars[match[1]] = value;
  }
  return vars;
}

/** The local vars file of `dir` (default the project) and what it sets: { path, vars }; path is null when there is none. */
export function devVars(dir = ROOT) {
  const path = [".dev.vars", ".dev.vars.example"].map((f) => resolve(dir, f)).find((f) => existsSync(f)) ?? null;
  return { path, vars: path ? parseVars(readFileSync(path, "utf8")) : {} };
}
