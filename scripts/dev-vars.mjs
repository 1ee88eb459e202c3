// Reads local secrets: .dev.vars when present, else .dev.vars.example (the committed dev defaults).
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { ROOT } from "./dev-server.mjs";

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

/** The secrets `npm start` runs with. */
export function devVars() {
  const file = [".dev.vars", ".dev.vars.example"].map((f) => resolve(ROOT, f)).find((f) => existsSync(f));
  return file ? parseVars(readFileSync(file, "utf8")) : {};
}
