#!/usr/bin/env node
// Part of npm test: bundles the Worker exactly as `npm run deploy` would, without uploading,
// so a bundle (or a deploy flag) that would not deploy fails the suite.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "./server.mjs";

const outdir = mkdtempSync(join(tmpdir(), "actorbase-bundle-"));
const result = spawnSync("npx", ["wrangler", "deploy", "--var", "LIVE_ACTORS_MAX:0", "--dry-run", "--outdir", outdir], {
  cwd: ROOT,
  stdio: "inherit",
  env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
});
if (result.status !== 0) {
  console.error("wrangler deploy --dry-run failed");
  process.exit(result.status ?? 1);
}
const files = readdirSync(outdir).map((f) => `${f} (${statSync(join(outdir, f)).size} bytes)`);
console.log(`Bundle OK: ${files.join(", ")}`);
rmSync(outdir, { recursive: true, force: true });
