/**
 * The request log: what an operator reads without paying for a line on every request. Server
 * errors (5xx) and slow requests are always written; the rest are sampled, or all written when the
 * operator asks (`LOG_REQUESTS=all`), or none (`off`). Under `wrangler dev` every line crosses a
 * pipe to the dev proxy, and one JSON line per request cost ~40% of throughput (docs/operations.md).
 */
import type { AppRequest } from "../context";

/** How ordinary (fast, non-5xx) requests are logged. */
export type RequestLogMode = "sampled" | "all" | "off";

export interface RequestLogSettings {
  mode: RequestLogMode;
  /** Fraction of ordinary requests written when `sampled`, 0 to 1. */
  sampleRate: number;
  /** A request that took at least this many milliseconds is always written. */
  slowMs: number;
}

/** The shipped defaults: one ordinary request in a hundred, and every request of a second or more. */
export const DEFAULT_LOG_SETTINGS: RequestLogSettings = { mode: "sampled", sampleRate: 0.01, slowMs: 1_000 };

/** Settings by environment object: the runtime passes the same one to every request of an isolate. */
const byEnv = new WeakMap<Env, RequestLogSettings>();

/**
 * Reads `LOG_REQUESTS`, `LOG_SAMPLE_RATE` and `LOG_SLOW_MS` once per environment. A value that
 * does not parse falls back to its default and is reported once, as a warning line.
 */
export function logSettings(env: Env): RequestLogSettings {
  const remembered = byEnv.get(env);
  if (remembered !== undefined) return remembered;
  const problems: string[] = [];
  const mode = (env.LOG_REQUESTS ?? "").trim() || DEFAULT_LOG_SETTINGS.mode;
  const sampleRate = numberSetting(env.LOG_SAMPLE_RATE, DEFAULT_LOG_SETTINGS.sampleRate, 0, 1, "LOG_SAMPLE_RATE", problems);
  const slowMs = numberSetting(env.LOG_SLOW_MS, DEFAULT_LOG_SETTINGS.slowMs, 0, Number.MAX_SAFE_INTEGER, "LOG_SLOW_MS", problems);
  const known = mode === "sampled" || mode === "all" || mode === "off";
  if (!known) problems.push(`LOG_REQUESTS must be "sampled", "all" or "off", got ${JSON.stringify(mode)}`);
  const settings: RequestLogSettings = { mode: known ? mode : DEFAULT_LOG_SETTINGS.mode, sampleRate, slowMs };
  if (problems.length > 0) console.warn(JSON.stringify({ level: "warn", msg: "log settings ignored; using defaults", problems }));
  byEnv.set(env, settings);
  return settings;
}

function numberSetting(raw: string | undefined, fallback: number, min: number, max: number, name: string, problems: string[]): number {
  const text = (raw ?? "").trim();
  if (text === "") return fallback;
  const value = Number(text);
  if (Number.isFinite(value) && value >= min && value <= max) return value;
  problems.push(`${name} must be a number from ${min} to ${max}, got ${JSON.stringify(text)}`);
  return fallback;
}

/** Why a request's line is written, or null when it is not. `random` is injected by tests. */
export function logReason(
  settings: RequestLogSettings,
  status: number,
  ms: number,
  random: () => number = Math.random,
): "error" | "slow" | "all" | "sampled" | null {
  if (status >= 500) return "error";
  if (ms >= settings.slowMs) return "slow";
  if (settings.mode === "all") return "all";
  if (settings.mode === "sampled" && settings.sampleRate > 0 && random() < settings.sampleRate) return "sampled";
  return null;
}

/**
 * Writes the request's line when `logReason` says so: `{level, msg, id, method, route, path,
 * status, ms, code?, error?, sampleRate?}`. Never tokens, bodies or query strings.
 */
export function logRequest(request: AppRequest, env: Env, status: number, ms: number): void {
  const settings = logSettings(env);
  const reason = logReason(settings, status, ms);
  if (reason === null) return;
  const state = request.state;
  const line = {
    level: reason === "error" ? "error" : reason === "slow" ? "warn" : "info",
    msg: reason === "error" ? "server error" : reason === "slow" ? "slow request" : "request",
    id: state?.id,
    method: request.method,
    route: request.route ?? null,
    path: state?.path ?? null,
    status,
    ms,
    ...(state?.failure ? { code: state.failure.code } : {}),
    ...(reason === "error" && state?.failure?.cause ? { error: state.failure.cause } : {}),
    ...(reason === "sampled" ? { sampleRate: settings.sampleRate } : {}),
  };
  if (reason === "error") console.error(JSON.stringify(line));
  else if (reason === "slow") console.warn(JSON.stringify(line));
  else console.log(JSON.stringify(line));
}
