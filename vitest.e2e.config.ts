import { defineConfig } from "vitest/config";

// The end-to-end suite: runs in Node against a real server started by test/e2e/global-setup.ts, the one
// `npm start` runs (workerd directly) unless ACTORBASE_SERVER=wrangler picks `wrangler dev`; npm test runs both.
export default defineConfig({
  test: {
    include: ["test/e2e/**/*.test.ts"],
    globalSetup: ["./test/e2e/global-setup.ts"],
    environment: "node",
    testTimeout: 60_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});
