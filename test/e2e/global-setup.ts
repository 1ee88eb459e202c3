import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
// @ts-expect-error plain ESM script without type declarations
import { startServer } from "../../scripts/server.mjs";
import { E2E_VARS } from "./secrets";

declare module "vitest" {
  export interface ProvidedContext {
    baseUrl: string;
    persistDir: string;
    /** The server's process (npm start: workerd itself; wrangler dev: its process group). */
    serverPid: number;
  }
}

/** Starts one real server (ACTORBASE_SERVER: workerd, the default, or wrangler) with a fresh state directory for the whole e2e run. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const persistDir = mkdtempSync(join(tmpdir(), "actorbase-e2e-"));
  const server = await startServer({ persistTo: persistDir, vars: E2E_VARS });
  project.provide("baseUrl", server.url);
  project.provide("persistDir", persistDir);
  project.provide("serverPid", server.child.pid);
  return async () => {
    await server.stop();
    rmSync(persistDir, { recursive: true, force: true });
  };
}
