import { describe, expect, it } from "vitest";
import { ActorbaseError } from "../client/errors";
import { type Transport, request } from "../client/rest";

/** A transport whose fetch fails with no answer (a TypeError, as `fetch` throws for a reset) `failures` times, then answers. */
function flaky(failures: number, answer: () => Response = () => Response.json({ ok: true })) {
  const calls: RequestInit[] = [];
  const transport: Transport = {
    baseUrl: "http://server.test",
    token: async () => "t",
    fetch: (async (_url: string, init: RequestInit) => {
      calls.push(init);
      if (calls.length <= failures) throw new TypeError("fetch failed: connection reset");
      return answer();
    }) as typeof fetch,
  };
  return { transport, calls };
}

describe("client: a request whose connection fails with no answer", () => {
  it("reads again", async () => {
    const { transport, calls } = flaky(1);
    await expect(request(transport, "GET", "/api/db/user:a/tables/notes")).resolves.toEqual({ ok: true });
    expect(calls).toHaveLength(2);
  });

  it("sends a write with an idempotency key again, key and body unchanged, up to twice", async () => {
    const { transport, calls } = flaky(2);
    await request(transport, "POST", "/api/db/user:a/tables/notes", { title: "once" }, { idempotencyKey: "k1" });
    expect(calls).toHaveLength(3);
    for (const init of calls) {
      expect((init.headers as Record<string, string>)["Idempotency-Key"]).toBe("k1");
      expect(init.body).toBe(JSON.stringify({ title: "once" }));
    }
  });

  it("gives up after the third try with the network error", async () => {
    const { transport, calls } = flaky(5);
    await expect(request(transport, "GET", "/x")).rejects.toBeInstanceOf(TypeError);
    expect(calls).toHaveLength(3);
  });

  it("does not repeat a write without a key: whether it was applied is unknown", async () => {
    const { transport, calls } = flaky(1);
    await expect(request(transport, "POST", "/api/db/user:a/tables/notes", { title: "maybe" })).rejects.toBeInstanceOf(TypeError);
    expect(calls).toHaveLength(1);
  });

  it("does not repeat a request the caller aborted", async () => {
    const calls: number[] = [];
    const transport: Transport = {
      baseUrl: "http://server.test",
      token: async () => null,
      fetch: (async () => {
        calls.push(1);
        throw new DOMException("The operation was aborted.", "AbortError");
      }) as typeof fetch,
    };
    await expect(request(transport, "GET", "/x")).rejects.toMatchObject({ name: "AbortError" });
    expect(calls).toHaveLength(1);
  });

  it("takes any answer as final, an error status included", async () => {
    const { transport, calls } = flaky(0, () =>
      Response.json({ status: 503, code: "TRY_AGAIN_LATER", title: "Try again later" }, { status: 503 }),
    );
    await expect(request(transport, "GET", "/x")).rejects.toBeInstanceOf(ActorbaseError);
    expect(calls).toHaveLength(1);
  });
});
