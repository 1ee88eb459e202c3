import { describe, expect, it } from "vitest";
import { HttpError } from "../shared/errors";
import { parseBatch } from "../objects/database/batch";
import { DEFAULT_REALTIME_LIMITS } from "../objects/realtime/limits";
import { parseClientMessage } from "../objects/realtime/messages";

/** The error a parser throws, as the fields a client sees. */
function failure(parse: () => unknown): { status: number; code: string; detail: string; ref: string | undefined } {
  try {
    parse();
  } catch (err) {
    if (!(err instanceof HttpError)) throw err;
    return { status: err.status, code: err.code, detail: err.detail, ref: err.ref };
  }
  throw new Error("expected the parser to refuse");
}

const limits = { ...DEFAULT_REALTIME_LIMITS };
const message = (value: unknown) => parseClientMessage(typeof value === "string" ? value : JSON.stringify(value), limits);

describe("parseClientMessage", () => {
  it("answers each malformed message with its code, what the field must be, and the subscription it is about", () => {
    const cases: [unknown, string, string, string?][] = [
      ["not json", "INVALID_JSON", 'Messages are JSON objects with a "type".'],
      [[], "INVALID_MESSAGE", 'Messages are JSON objects with a "type".'],
      [{ type: "dance" }, "UNKNOWN_TYPE", 'Unknown message type "dance"; see docs/realtime.md.'],
      [{}, "UNKNOWN_TYPE", "Unknown message type undefined; see docs/realtime.md."],
      [{ type: "auth", token: "" }, "INVALID_MESSAGE", '"auth" needs a "token" string.'],
      [{ type: "subscribe", id: "a b", table: "" }, "INVALID_MESSAGE", '"id" must be 1-64 characters of A-Za-z0-9_.:-.'],
      [{ type: "subscribe", id: "s1" }, "INVALID_MESSAGE", '"table" must be a string of 1-128 characters.', "s1"],
      [
        { type: "subscribe", id: "s1", table: "notes", filter: 3 },
        "INVALID_FILTER",
        '"filter" must be a string in the query grammar.',
        "s1",
      ],
      [
        { type: "subscribe", id: "s1", table: "notes", filter: "x".repeat(2049) },
        "INVALID_FILTER",
        '"filter" is longer than 2048 characters.',
        "s1",
      ],
      [{ type: "subscribe", id: "s1", table: "notes", since: -1 }, "INVALID_MESSAGE", '"since" must be a non-negative integer seq.', "s1"],
      [{ type: "subscribe", id: "s1", table: "notes", snapshot: null }, "INVALID_MESSAGE", '"snapshot" must be true or false.', "s1"],
      [
        { type: "subscribe", id: "s1", table: "notes", since: 3, snapshot: true },
        "INVALID_MESSAGE",
        'Ask for "since" or "snapshot", not both.',
        "s1",
      ],
      [{ type: "unsubscribe" }, "INVALID_MESSAGE", '"unsubscribe" needs the subscription "id".'],
      [{ type: "broadcast", channel: "c", event: "" }, "INVALID_MESSAGE", '"event" must be a string of 1-128 characters.'],
      [{ type: "presence", channel: "" }, "INVALID_MESSAGE", '"presence" needs a "state" (any JSON value).'],
      [{ type: "presence.leave" }, "INVALID_MESSAGE", '"channel" must be a string of 1-128 characters.'],
    ];
    for (const [input, code, detail, ref] of cases) {
      expect(
        failure(() => message(input)),
        JSON.stringify(input),
      ).toEqual({ status: 400, code, detail, ref });
    }
  });

  it("normalises what it accepts: a leading ? off the filter, since: null as no since, a missing payload as null, unknown keys dropped", () => {
    expect(message({ type: "subscribe", id: "s1", table: "notes", filter: "?done=eq.true", since: null, batch: true, extra: 1 })).toEqual({
      type: "subscribe",
      id: "s1",
      table: "notes",
      filter: "done=eq.true",
      batch: true,
    });
    expect(message({ type: "subscribe", id: "s1", table: "notes", since: 0 })).toStrictEqual({
      type: "subscribe",
      id: "s1",
      table: "notes",
      since: 0,
    });
    expect(message({ type: "broadcast", channel: "room", event: "hi" })).toStrictEqual({
      type: "broadcast",
      channel: "room",
      event: "hi",
      payload: null,
    });
    expect(message({ type: "presence", channel: "room", state: null })).toStrictEqual({ type: "presence", state: null, channel: "room" });
  });

  it("checks names against the actor's limits, also after a limit is lowered in place", () => {
    const own = { ...DEFAULT_REALTIME_LIMITS };
    const text = JSON.stringify({ type: "presence.leave", channel: "abcdef" });
    expect(parseClientMessage(text, own)).toEqual({ type: "presence.leave", channel: "abcdef" });
    own.maxNameLength = 5;
    expect(failure(() => parseClientMessage(text, own)).detail).toBe('"channel" must be a string of 1-5 characters.');
  });
});

describe("parseBatch", () => {
  it("names the first bad op and what is wrong with it", () => {
    const ops = [{ op: "insert", table: "notes", data: {} }, { op: "update", table: "notes", data: {} }, "x"];
    expect(failure(() => parseBatch({ ops }, 10))).toEqual({
      status: 400,
      code: "INVALID_BATCH",
      detail: 'ops[1]: an update needs the row "id"',
      ref: undefined,
    });
    expect(failure(() => parseBatch({ ops: [[]] }, 10)).detail).toBe("ops[0]: each op is an object");
    expect(failure(() => parseBatch({ ops: [{ op: "delete", table: "notes", id: "a", ifMatch: 1.5 }] }, 10)).detail).toBe(
      'ops[0]: "ifMatch" must be an integer version',
    );
    expect(failure(() => parseBatch([], 10)).detail).toBe('A batch is {"ops": [{"op": "insert", "table": "...", "data": {...}}, ...]}.');
    expect(failure(() => parseBatch({ ops: [] }, 10)).detail).toBe("The batch has no ops; send at least one.");
  });

  it("refuses more ops than the limit with 413 before checking any op", () => {
    expect(failure(() => parseBatch({ ops: ["x", "y", "z"] }, 2))).toEqual({
      status: 413,
      code: "TOO_MANY_ROWS",
      detail: "3 ops in one batch; the limit is 2. Split the batch.",
      ref: undefined,
    });
  });

  it("reads an absent or null ifMatch as none and keeps data as sent", () => {
    expect(
      parseBatch(
        {
          ops: [
            { op: "update", table: "notes", id: "a", data: null },
            { op: "delete", table: "notes", id: "b", ifMatch: 7 },
          ],
        },
        10,
      ),
    ).toEqual([
      { op: "update", table: "notes", id: "a", data: null, ifMatch: null },
      { op: "delete", table: "notes", id: "b", ifMatch: 7 },
    ]);
  });
});
