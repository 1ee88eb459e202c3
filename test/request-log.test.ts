import { afterEach, describe, expect, it, vi } from "vitest";
import { DEFAULT_LOG_SETTINGS, logReason, logSettings } from "../workers/middleware/request-log";
import { fetchWorker } from "./helpers/worker-fetch";

/** Every JSON line the Worker wrote to the console while `body` ran, with the level it was written at. */
async function captureLines(body: () => Promise<void>): Promise<{ level: string; line: Record<string, unknown> }[]> {
  const lines: { level: string; line: Record<string, unknown> }[] = [];
  for (const level of ["log", "warn", "error"] as const) {
    vi.spyOn(console, level).mockImplementation((text: unknown) => {
      lines.push({ level, line: JSON.parse(String(text)) as Record<string, unknown> });
    });
  }
  await body();
  return lines;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("request log settings", () => {
  it("ships sampled logging of one request in a hundred, and every request of a second or more", () => {
    expect(DEFAULT_LOG_SETTINGS).toEqual({ mode: "sampled", sampleRate: 0.01, slowMs: 1_000 });
    expect(logSettings({ LOG_REQUESTS: "", LOG_SAMPLE_RATE: "", LOG_SLOW_MS: "" } as Env)).toEqual(DEFAULT_LOG_SETTINGS);
    expect(logSettings({ LOG_REQUESTS: "all", LOG_SAMPLE_RATE: "0.5", LOG_SLOW_MS: "250" } as Env)).toEqual({
      mode: "all",
      sampleRate: 0.5,
      slowMs: 250,
    });
  });

  it("falls back to the default for a value that does not parse, and says so once", async () => {
    const lines = await captureLines(async () => {
      const env = { LOG_REQUESTS: "verbose", LOG_SAMPLE_RATE: "2", LOG_SLOW_MS: "soon" } as Env;
      expect(logSettings(env)).toEqual(DEFAULT_LOG_SETTINGS);
      expect(logSettings(env)).toEqual(DEFAULT_LOG_SETTINGS);
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]?.level).toBe("warn");
    expect(JSON.stringify(lines[0]?.line)).toMatch(/LOG_REQUESTS.*LOG_SAMPLE_RATE.*LOG_SLOW_MS|LOG_SAMPLE_RATE.*LOG_SLOW_MS.*LOG_REQUESTS/);
  });

  it("always writes server errors and slow requests, samples the rest, and writes everything on request", () => {
    const sampled = { mode: "sampled", sampleRate: 0.01, slowMs: 1_000 } as const;
    expect(logReason(sampled, 500, 3, () => 0.99)).toBe("error");
    expect(logReason({ ...sampled, mode: "off" }, 503, 3)).toBe("error");
    expect(logReason({ ...sampled, mode: "off" }, 200, 1_000)).toBe("slow");
    expect(logReason(sampled, 404, 3, () => 0.005)).toBe("sampled");
    expect(logReason(sampled, 200, 3, () => 0.5)).toBeNull();
    expect(logReason({ ...sampled, sampleRate: 0 }, 200, 3, () => 0)).toBeNull();
    expect(logReason({ ...sampled, mode: "all" }, 200, 3)).toBe("all");
    expect(logReason({ ...sampled, mode: "off" }, 429, 3)).toBeNull();
  });
});

describe("the request log through the Worker", () => {
  it("writes a 5xx once, as an error line with its code and stack, even when logging is off", async () => {
    const lines = await captureLines(async () => {
      const response = await fetchWorker("/api/health", {}, { LOG_REQUESTS: "off", RATE_LIMIT_PLATFORM: "not-a-limit" });
      expect(response.status).toBe(500);
    });
    const errors = lines.filter((l) => l.line.msg === "server error");
    expect(errors).toHaveLength(1);
    expect(errors[0]?.level).toBe("error");
    expect(errors[0]?.line).toMatchObject({
      method: "GET",
      path: "/api/health",
      status: 500,
      code: "RATE_LIMIT_MISCONFIGURED",
      id: expect.any(String),
    });
    expect(String(errors[0]?.line.error)).toContain("RATE_LIMIT_PLATFORM");
    expect(lines).toHaveLength(1);
  });

  it("writes nothing for ordinary requests when off, one line each when all, never the token", async () => {
    const token = "Bearer not.a.valid-token-secret";
    const quiet = await captureLines(async () => {
      for (let i = 0; i < 5; i++) await fetchWorker("/api/health", {}, { LOG_REQUESTS: "off" });
    });
    expect(quiet).toEqual([]);
    const all = await captureLines(async () => {
      expect((await fetchWorker("/api/health", {}, { LOG_REQUESTS: "all" })).status).toBe(200);
      expect(
        (await fetchWorker("/api/db/user:alice/tables/notes", { headers: { Authorization: token } }, { LOG_REQUESTS: "all" })).status,
      ).toBe(401);
    });
    expect(all.map((l) => [l.level, l.line.status, l.line.code ?? null])).toEqual([
      ["log", 200, null],
      ["log", 401, "INVALID_TOKEN"],
    ]);
    expect(JSON.stringify(all)).not.toContain("valid-token-secret");
  });

  it("samples ordinary requests at LOG_SAMPLE_RATE and marks the lines with the rate", async () => {
    const lines = await captureLines(async () => {
      for (let i = 0; i < 400; i++) await fetchWorker("/api/health", {}, { LOG_REQUESTS: "sampled", LOG_SAMPLE_RATE: "0.25" });
    });
    // 400 draws at 0.25: 100 expected; outside 50..150 happens with probability under 1e-7.
    expect(lines.length).toBeGreaterThan(50);
    expect(lines.length).toBeLessThan(150);
    expect(lines.every((l) => l.line.sampleRate === 0.25 && l.line.status === 200)).toBe(true);
  });
});
