import { describe, expect, it } from "vitest";
import { errorFrom } from "../client/errors";
import { ERROR_STATUS, isErrorCode } from "../shared/error-codes";
import { HttpError, asHttpError, problemResponse, toProblem } from "../shared/errors";
import { capture } from "../shared/rpc";
import { CloseCode, closeCodeError } from "../shared/protocol";

describe("the error vocabulary", () => {
  it("renders one error as problem+json and as a socket error frame", async () => {
    const error = new HttpError(400, "INVALID_FILTER", '"filter" must be a string.', { ref: "s1" });
    expect(JSON.parse(error.toFrame())).toEqual({
      type: "error",
      code: "INVALID_FILTER",
      message: '"filter" must be a string.',
      ref: "s1",
    });
    const response = problemResponse(error.toProblem());
    expect(response.status).toBe(400);
    expect(response.headers.get("Content-Type")).toBe("application/problem+json");
    expect(await response.json()).toMatchObject({
      code: "INVALID_FILTER",
      status: 400,
      detail: '"filter" must be a string.',
      type: "https://actorbase.dev/problems/invalid-filter",
    });
    expect(JSON.parse(new HttpError(404, "TABLE_NOT_FOUND", "no").toFrame())).not.toHaveProperty("ref");
  });

  it("turns anything that is not an HttpError into an opaque 500 INTERNAL", () => {
    expect(toProblem(new TypeError("secret detail"))).toMatchObject({ status: 500, code: "INTERNAL" });
    expect(JSON.stringify(toProblem(new TypeError("secret detail")))).not.toContain("secret");
  });

  it("turns the runtime running out of memory, files or capacity into 503 TRY_AGAIN_LATER with Retry-After", async () => {
    for (const message of [
      "SQLITE_NOMEM: out of memory",
      "EMFILE: too many open files",
      "Too many open files",
      "Durable Object is overloaded. Too many requests queued.",
      "internal error; reference = rdgt213e7hnbrt6uvgbmth25",
    ]) {
      const error = asHttpError(new Error(message));
      expect(error.status, message).toBe(503);
      expect(error.code).toBe("TRY_AGAIN_LATER");
      expect(error.headers).toEqual({ "Retry-After": "1" });
    }
    const result = await capture(() => {
      throw new Error("SQLITE_NOMEM: out of memory");
    });
    expect(result).toMatchObject({ ok: false, problem: { status: 503, code: "TRY_AGAIN_LATER" }, headers: { "Retry-After": "1" } });
    expect(asHttpError(new TypeError("x is undefined")).status).toBe(500);
    expect(asHttpError(new Error("SQLITE_FULL: database or disk is full")).status).toBe(500);
  });

  it("names every server close code with a code of the list, and no other", () => {
    for (const [name, code] of Object.entries(CloseCode)) {
      expect(closeCodeError(code)).toBe(name === "NORMAL" ? null : name);
      if (name !== "NORMAL") expect(isErrorCode(name)).toBe(true);
    }
    expect(closeCodeError(4999)).toBeNull();
  });

  it("gives the client the server's code, or HTTP_ERROR when the answer carries none it knows", async () => {
    const known = await errorFrom(problemResponse(new HttpError(412, "VERSION_MISMATCH", "stale").toProblem()));
    expect([known.status, known.code, known.detail]).toEqual([412, "VERSION_MISMATCH", "stale"]);
    const foreign = await errorFrom(new Response(JSON.stringify({ code: "SOMETHING_ELSE", detail: "?" }), { status: 502 }));
    expect(foreign.code).toBe("HTTP_ERROR");
    const page = await errorFrom(new Response("<html>Bad gateway</html>", { status: 502 }));
    expect([page.code, page.detail]).toEqual(["HTTP_ERROR", "<html>Bad gateway</html>"]);
  });

  it("keeps every code UPPER_SNAKE with an HTTP status", () => {
    for (const [code, status] of Object.entries(ERROR_STATUS)) {
      expect(code).toMatch(/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/);
      expect(status).toBeGreaterThanOrEqual(400);
      expect(status).toBeLessThan(600);
    }
  });
});
