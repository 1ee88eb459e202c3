import { describe, expect, it } from "vitest";
import { api, token, unique } from "./helpers";

const MiB = 1024 * 1024;

/** A JSON-looking body of `bytes` streamed in 64 KiB chunks, so no Content-Length is sent. */
function chunked(bytes: number): ReadableStream<Uint8Array> {
  const chunk = 64 * 1024;
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= bytes) return controller.close();
      const size = Math.min(chunk, bytes - sent);
      controller.enqueue(new TextEncoder().encode(sent === 0 ? `{"title":"${"x".repeat(size - 10)}` : "x".repeat(size)));
      sent += size;
    },
  });
}

async function expectTooLarge(response: Response, what: string): Promise<void> {
  const text = await response.text();
  expect(response.status, `${what}: ${text.slice(0, 200)}`).toBe(413);
  expect(response.headers.get("Content-Type"), what).toBe("application/problem+json");
  expect(JSON.parse(text).code, what).toBe("BODY_TOO_LARGE");
}

describe("oversized bodies over real HTTP", () => {
  it("answers 413 problem+json to every oversized body up to 32 MiB, chunked or declared", async () => {
    const sub = unique("big");
    const headers = { Authorization: `Bearer ${await token(sub)}`, "Content-Type": "application/json" };
    const path = `/api/db/user:${sub}/tables/notes`;
    for (const size of [5 * MiB, 32 * MiB]) {
      const streamed = await api(path, { method: "POST", headers, body: chunked(size), duplex: "half" } as RequestInit);
      await expectTooLarge(streamed, `${size / MiB} MiB chunked`);
      const declared = await api(path, { method: "POST", headers, body: `{"title":"${"y".repeat(size)}"}` });
      await expectTooLarge(declared, `${size / MiB} MiB with Content-Length`);
    }
    const list = await api(`${path}?count=exact`, { headers });
    expect(list.status).toBe(200);
    expect(((await list.json()) as { total: number }).total).toBe(0);
  }, 120_000);

  it("keeps answering other callers while oversized uploads are refused", async () => {
    const sub = unique("calm");
    const headers = { Authorization: `Bearer ${await token(sub)}`, "Content-Type": "application/json" };
    const path = `/api/db/user:${sub}/tables/notes`;
    const bigSub = unique("flood");
    const bigHeaders = { Authorization: `Bearer ${await token(bigSub)}`, "Content-Type": "application/json" };
    const uploads = [0, 1, 2].map((i) =>
      api(`/api/db/user:${bigSub}/tables/notes`, {
        method: "POST",
        headers: bigHeaders,
        body: chunked(32 * MiB),
        duplex: "half",
      } as RequestInit).then((r) => expectTooLarge(r, `upload ${i}`)),
    );
    const writes: Promise<number>[] = [];
    for (let i = 0; i < 20; i++) {
      writes.push(
        api(path, { method: "POST", headers, body: JSON.stringify({ id: `n${i}`, title: `note ${i}` }) }).then(async (r) => {
          await r.arrayBuffer();
          return r.status;
        }),
      );
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    await Promise.all(uploads);
    expect(await Promise.all(writes)).toEqual(Array(20).fill(201));
    const list = await api(`${path}?count=exact`, { headers });
    expect(((await list.json()) as { total: number }).total).toBe(20);
  }, 120_000);
});
