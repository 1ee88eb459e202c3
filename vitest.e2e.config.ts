import { defineConfig } from "vitest/config";

// The end-to-end suite: runs in Node against a real `wrangler dev` started by test/e2e/global-setup.ts.
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
