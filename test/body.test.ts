import { describe, expect, it } from "vitest";
import { readJson } from "../workers/middleware/body";

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
    await expect(readJson(post("{}", { "Content-Type": "text/plain" }), 1024)).rejects.toMatchObject({ status: 415, code: "UNSUPPORTED_MEDIA_TYPE" });
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
});
