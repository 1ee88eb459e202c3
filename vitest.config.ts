import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";
import { TEST_SECRETS } from "./test/env.ts";

// The workerd suite: tests run inside the Workers runtime with the real Worker and actors bound.
export default defineConfig({
  plugins: [
    cloudflareTest({
      main: "./workers/index.ts",
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: { bindings: { ...TEST_SECRETS } },
    }),
  ],
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["test/e2e/**", "node_modules/**"],
    globalSetup: ["./test/console-build.setup.ts"],
    testTimeout: 30_000,
  },
});
