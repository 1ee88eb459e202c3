/** Secrets the e2e server is started with (passed as --var, overriding any .dev.vars). */
export const E2E_VARS = {
  JWT_SECRET: "e2e-secret-0123456789abcdef0123456789abcdef",
  SERVICE_KEY: "e2e-service-key-0123456789",
  CORS_ORIGINS: "https://app.example.com",
  LOG_REQUESTS: "off",
  // The public key supabase-js sends as `apikey` (and as the bearer when nobody is signed in): anonymous.
  ANON_KEY: "e2e-anon-key-0123456789",
} as const;
