/**
 * Hostile HTTP over a real socket (`wrangler dev`): the same generated requests as the workerd fuzz
 * suite, plus what only a real server sees: bodies streamed without Content-Length, bodies over the
 * limit, lying Content-Length headers and concurrent bursts. No 5xx, no hang, server still healthy.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fuzzRequest } from "../helpers/fuzz-grammar";
import { api, baseUrl, token, unique } from "./helpers";

// Generous: the machine is shared and benchmarks may run beside the suite; a real hang never answers.
const TIMEOUT_MS = 30_000;

/** wrangler dev's own proxy answer when its hop to workerd breaks (workers-sdk #5095, #14641): not ours. */
const DEV_PROXY_503 = "Your worker restarted mid-request";
let proxyRetries = 0;
let sent = 0;

async function attempt(path: string, init: RequestInit & { duplex?: "half" }): Promise<Response> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
  try {
    return await fetch(baseUrl() + path, { ...init, signal: controller.signal });
  } catch (err) {
    const cause = (err as Error & { cause?: Error }).cause?.message ?? "";
    throw new Error(
      `no answer within ${TIMEOUT_MS} ms (or the connection broke: ${cause}): ${init.method ?? "GET"} ${path.slice(0, 200)}: ${(err as Error).message}`,
    );
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Sends a request; when wrangler dev's proxy (not the Worker) drops it, with its own 503 text or a
 * connection closed under the request, retries once. A real early-answer bug fails both times; the
 * suite also checks such retries stay rare.
 */
async function send(path: string, init: RequestInit & { duplex?: "half" }, freshBody?: () => BodyInit): Promise<Response> {
  sent++;
  if (process.env.FUZZ_LOG)
    console.log(
      `${Date.now()} ${init.method ?? "GET"} ${path.slice(0, 160)} body=${typeof init.body === "string" ? init.body.length : "-"}`,
    );
  const build = () => (freshBody ? { ...init, body: freshBody() } : init);
  try {
    const response = await attempt(path, build());
    if (response.status !== 503) return response;
    const text = await response.clone().text();
    if (!text.startsWith(DEV_PROXY_503)) return response;
  } catch (err) {
    if (!/other side closed|socket hang up|ECONNRESET|terminated/.test((err as Error).message)) throw err;
  }
  proxyRetries++;
  return attempt(path, build());
}

async function expectNo5xx(response: Response, where: string): Promise<void> {
  const text = await response.text();
  expect(response.status, `${where} → ${response.status} ${text.slice(0, 300)}`).toBeLessThan(500);
  if (response.status >= 400 && response.status !== 405)
    expect(response.headers.get("content-type"), where).toBe("application/problem+json");
}

/** A body streamed in chunks, so no Content-Length is sent. */
function stream(bytes: number, chunk = 64 * 1024): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= bytes) return controller.close();
      const size = Math.min(chunk, bytes - sent);
      controller.enqueue(new TextEncoder().encode(sent === 0 ? `{"title":"${"x".repeat(Math.max(0, size - 10))}` : "x".repeat(size)));
      sent += size;
    },
  });
}

describe("hostile HTTP over a real server", () => {
  it("never answers 5xx or hangs on generated requests", async () => {
    const credentials = [
      {},
      { Authorization: `Bearer ${await token("mallory", { workspaces: ["wsmallory"] })}` },
      { Authorization: "Bearer a.b.c" },
    ];
    await fc.assert(
      fc.asyncProperty(fuzzRequest(credentials.length), async (input) => {
        const headers = new Headers();
        try {
          for (const [name, value] of Object.entries({ ...input.headers, ...credentials[input.credential] })) headers.set(name, value);
          if (input.contentType) headers.set("Content-Type", input.contentType);
        } catch {
          fc.pre(false);
        }
        if (input.path.includes("/realtime/")) headers.delete("Sec-WebSocket-Protocol");
        // workerd's HTTP server answers a method it does not know (mixed case, like "Patch") with its own
        // 501 before the Worker runs; fetch sends such methods verbatim. The workerd suite covers them.
        fc.pre(input.method === input.method.toUpperCase() || ["get", "post", "delete", "head", "options", "put"].includes(input.method));
        const withBody = input.body !== null && !["GET", "HEAD"].includes(input.method.toUpperCase());
        const path = input.path + (input.query ? `?${input.query}` : "");
        let response: Response;
        try {
          response = await send(path, { method: input.method, headers, ...(withBody ? { body: input.body } : {}) });
        } catch (err) {
          if (/Invalid URL|method|Request/.test((err as Error).message) && !/no answer/.test((err as Error).message)) return fc.pre(false);
          throw err;
        }
        await expectNo5xx(response, `${input.method} ${path.slice(0, 300)}`);
      }),
      { numRuns: 300 },
    );
    expect((await api("/api/health")).status).toBe(200);
    expect(proxyRetries, `${proxyRetries} of ${sent} requests hit the dev proxy's 503`).toBeLessThanOrEqual(Math.max(3, sent * 0.02));
  }, 180_000);

  it("answers bodies over the limit with 413, streamed or declared, and stays healthy", async () => {
    const sub = unique("big");
    const headers = { Authorization: `Bearer ${await token(sub)}`, "Content-Type": "application/json" };
    const path = `/api/db/user:${sub}/tables/notes`;
    const streamed = await send(path, { method: "POST", headers, duplex: "half" }, () => stream(3 * 1024 * 1024));
    await expectNo5xx(streamed, "streamed 3 MiB");
    expect(streamed.status).toBe(413);
    const declared = await send(path, { method: "POST", headers, body: `{"title":"${"y".repeat(2 * 1024 * 1024)}"}` });
    expect(declared.status).toBe(413);
    await declared.text();
    const anonymous = await send(
      "/api/db/user:someone/tables/notes",
      { method: "POST", headers: { "Content-Type": "application/json" }, duplex: "half" },
      () => stream(2 * 1024 * 1024),
    );
    await expectNo5xx(anonymous, "anonymous streamed 2 MiB");
    const list = await send(path, { headers });
    expect(list.status).toBe(200);
    expect(((await list.json()) as { items: unknown[] }).items).toEqual([]);
  });

  it("answers a burst of concurrent hostile and valid requests without a 5xx, applying every valid write", async () => {
    const sub = unique("burst");
    const headers = { Authorization: `Bearer ${await token(sub)}`, "Content-Type": "application/json" };
    const path = `/api/db/user:${sub}/tables/notes`;
    const valid = Array.from({ length: 40 }, (_, i) =>
      send(path, { method: "POST", headers, body: JSON.stringify({ id: `ok-${i}`, title: `ok ${i}` }) }),
    );
    const mallory = { Authorization: `Bearer ${await token("mallory", { workspaces: ["wsmallory"], role: "admin" })}` };
    const hostile = fc
      .sample(fuzzRequest(1), { numRuns: 80, seed: 42 })
      .filter((input) => input.method === input.method.toUpperCase())
      .map((input) => {
        const withBody = input.body !== null && !["GET", "HEAD"].includes(input.method.toUpperCase());
        return send(
          input.path.replace(/[^\x21-\x7e]/g, "_") + (input.query ? `?${encodeURI(input.query.replace(/[\uD800-\uDFFF]/g, ""))}` : ""),
          { method: input.method, headers: { "Content-Type": "application/json", ...mallory }, ...(withBody ? { body: input.body } : {}) },
        ).catch((err: Error) => {
          if (/no answer/.test(err.message)) throw err;
          return null;
        });
      });
    const answers = await Promise.all([...valid, ...hostile]);
    for (const response of answers) if (response) await expectNo5xx(response, "burst");
    const list = (await (await send(`${path}?limit=1000`, { headers })).json()) as { items: Array<{ id: string }> };
    expect(list.items.filter((r) => r.id.startsWith("ok-"))).toHaveLength(40);
  }, 120_000);
});
