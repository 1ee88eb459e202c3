#!/usr/bin/env node
// Builds the web console (console/) into dist/assets/console/: index.html, app.js and app.css,
// bundled by esbuild (the bundler wrangler itself uses). Workers static assets serve that folder
// under `wrangler dev` and deploy, and `npm start` serves the same files (docs/console.md).
//   node scripts/build-console.mjs            build
//   node scripts/build-console.mjs --check    build, then fail when the gzipped total passes the budget
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const SOURCE = join(ROOT, "console");
/** Where Workers static assets are read from (wrangler.toml `[assets]`); the console lives under /console/. */
export const ASSETS_DIR = join(ROOT, "dist", "assets");
const OUT = join(ASSETS_DIR, "console");

/** The console's size budget: every asset gzipped, summed (checked in CI by `--check`). */
export const BUDGET_GZIP_BYTES = 31 * 1024;

/** Builds the console; answers each asset's raw and gzipped size. */
export async function buildConsole() {
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  await build({
    entryPoints: { app: join(SOURCE, "src", "main.tsx") },
    outdir: OUT,
    bundle: true,
    minify: true,
    format: "esm",
    target: "es2022",
    jsx: "automatic",
    jsxImportSource: "preact",
    legalComments: "none",
    logLevel: "warning",
  });
  copyFileSync(join(SOURCE, "index.html"), join(OUT, "index.html"));
  return readdirSync(OUT).map((file) => {
    const bytes = readFileSync(join(OUT, file));
    return { file, bytes: bytes.length, gzip: gzipSync(bytes).length };
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const sizes = await buildConsole();
  const total = sizes.reduce((sum, asset) => sum + asset.gzip, 0);
  for (const asset of sizes)
    console.log(`${asset.file.padEnd(12)} ${String(asset.bytes).padStart(8)} B  ${String(asset.gzip).padStart(7)} B gzipped`);
  console.log(`total ${total} B gzipped; budget ${BUDGET_GZIP_BYTES} B`);
  if (process.argv.includes("--check") && total > BUDGET_GZIP_BYTES) {
    console.error(`The console is over its size budget by ${total - BUDGET_GZIP_BYTES} B gzipped.`);
    process.exit(1);
  }
}
