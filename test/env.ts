import { TEST_JWKS } from "./fixtures/keys.ts";

/** Secrets the workerd test suite runs with (bound in vitest.config.ts, not read from .dev.vars). */
export const TEST_SECRETS = {
  JWT_SECRET: "test-secret-0123456789abcdef0123456789abcdef",
  SERVICE_KEY: "test-service-key-0123456789",
  JWT_JWKS: TEST_JWKS,
  JWT_ISSUER: "",
  JWT_AUDIENCE: "",
  CORS_ORIGINS: "https://app.example.com,https://admin.example.com",
  LOG_REQUESTS: "off",
  ANON_KEY: "test-anon-key-0123456789",
} as const;
