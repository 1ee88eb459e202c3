import { describe, expect, it } from "vitest";
import { readJson } from "../workers/middleware/body";
import { SERVICE, call } from "./helpers/http";

const post = (body: BodyInit | null, headers: Record<string, string> = { "Content-Type": "application/json" }) =>
  new Request("https://actorbase.test/x", { method: "POST", body, headers });

describe("readJson", () => {
  it("parses a JSON body", async () => {
    await expect(readJson(post('{"a":[1,2]}'), 1024)).resolves.toEqual({ a: [1, 2] });
  });

  it("accepts a charset parameter on the content type", async () => {
    await expect(readJson(post("{}", { "Content-Type": "application/json; charset=utf-8" }), 1024)).resolves.toEqual({});
  });

  it("refuses other content types with 415", async () => {
    await expect(readJson(post("{}", { "Content-Type": "text/plain" }), 1024)).rejects.toMatchObject({
      status: 415,
      code: "UNSUPPORTED_MEDIA_TYPE",
    });
    await expect(readJson(post("{}", {}), 1024)).rejects.toMatchObject({ status: 415 });
  });

  it("refuses malformed JSON and an empty body with 400", async () => {
    await expect(readJson(post('{"a":'), 1024)).rejects.toMatchObject({ status: 400, code: "INVALID_JSON" });
    await expect(readJson(post(null), 1024)).rejects.toMatchObject({ status: 400, code: "INVALID_JSON" });
  });

  it("refuses invalid UTF-8 with 400", async () => {
    await expect(readJson(post(new Uint8Array([0x7b, 0xff, 0x7d])), 1024)).rejects.toMatchObject({ status: 400 });
  });

  it("refuses a streamed body over the limit with 413 even without Content-Length", async () => {
    const stream = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 10; i++) controller.enqueue(new TextEncoder().encode(`"${"x".repeat(200)}",`));
        controller.close();
      },
    });
    await expect(readJson(post(stream), 1024)).rejects.toMatchObject({ status: 413, code: "BODY_TOO_LARGE" });
  });

  it("reads a body longer or shorter than its Content-Length whole, not cut at the declared length", async () => {
    const body = '{"a":[1,2,3],"b":"longer than declared"}';
    await expect(readJson(post(body, { "Content-Type": "application/json", "Content-Length": "5" }), 1024)).resolves.toEqual({
      a: [1, 2, 3],
      b: "longer than declared",
    });
    await expect(readJson(post(body, { "Content-Type": "application/json", "Content-Length": "900" }), 1024)).resolves.toEqual({
      a: [1, 2, 3],
      b: "longer than declared",
    });
  });

  it("refuses with 413 a body over the limit that declares a small Content-Length", async () => {
    const headers = { "Content-Type": "application/json", "Content-Length": "5" };
    await expect(readJson(post(`"${"x".repeat(2000)}"`, headers), 1024)).rejects.toMatchObject({ status: 413, code: "BODY_TOO_LARGE" });
    await expect(readJson(post(endless(), headers), 1024)).rejects.toMatchObject({ status: 413, code: "BODY_TOO_LARGE" });
  });
});

/**
 * A JSON value followed by whitespace that never ends: only a bounded read can answer it. Each pull
 * waits for a timer, so a reader that tries to take it whole fails the test by its timeout instead
 * of starving the isolate.
 */
function endless(): ReadableStream<Uint8Array> {
  const padding = new TextEncoder().encode(" ".repeat(16 * 1024));
  let started = false;
  return new ReadableStream({
    async pull(controller) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      controller.enqueue(started ? padding : new TextEncoder().encode('{"limit":1000,"periodMs":60000}'));
      started = true;
    },
  });
}

// workerd hands the Worker's fetch a Request whose body is longer than its Content-Length when the
// Request was built in-process and sent through exports.default.fetch (as here); over HTTP, wrangler
// dev cuts the body at the declared length instead.
describe("POST /api/ratelimit/:key bodies and their Content-Length", () => {
  const headers = { ...SERVICE, "Content-Type": "application/json", "Content-Length": "5" };

  it("decides on the whole body", async () => {
    const response = await call("/api/ratelimit/body-short-cl", { method: "POST", headers, body: '{"limit":1000,"periodMs":60000}' });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ allowed: true, limit: 1000, remaining: 999 });
  });

  it("reads a body that arrives in pieces up to its declared length", async () => {
    const body = '{"limit":1000,"periodMs":60000}';
    const pieces = [body.slice(0, 3), body.slice(3, 20), body.slice(20)].map((piece) => new TextEncoder().encode(piece));
    const slow = new ReadableStream<Uint8Array>({
      async pull(controller) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        const piece = pieces.shift();
        if (piece) controller.enqueue(piece);
        else controller.close();
      },
    });
    const response = await call("/api/ratelimit/body-pieces", {
      method: "POST",
      headers: { ...headers, "Content-Length": String(body.length) },
      body: slow,
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ allowed: true, limit: 1000, remaining: 999 });
  });

  it("answers 413 to an endless body instead of reading it whole", async () => {
    const response = await call("/api/ratelimit/body-endless", { method: "POST", headers, body: endless() });
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ code: "BODY_TOO_LARGE" });
  });
});
