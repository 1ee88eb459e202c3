/** Secrets the e2e server is started with (passed as --var, overriding any .dev.vars). */
export const E2E_VARS = {
  JWT_SECRET: "e2e-secret-0123456789abcdef0123456789abcdef",
  SERVICE_KEY: "e2e-service-key-0123456789",
  CORS_ORIGINS: "https://app.example.com",
  LOG_REQUESTS: "off",
} as const;
