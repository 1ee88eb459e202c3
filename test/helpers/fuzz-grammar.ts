/**
 * fast-check arbitraries for hostile requests, generated from the API's own grammar (routes, block
 * names, the query grammar, the batch and rate-limit bodies) and then mutated. Pure: no runtime
 * imports, so the workerd suite and the Node e2e suite share them.
 */
import fc from "fast-check";

/** Names that trip up code using plain objects as maps. */
export const PROTO_KEYS = ["__proto__", "constructor", "prototype", "toString", "hasOwnProperty", "valueOf", "__defineGetter__"] as const;

/** Strings that have broken parsers, routers and SQL builders elsewhere. */
export const NASTY_STRINGS = [
  "",
  " ",
  ".",
  "..",
  "%",
  "%00",
  "%ZZ",
  "%E0%A4%A",
  "%2F",
  "a%2Fb",
  "%2e%2e",
  "\u0000",
  "\uFEFF",
  "\uD800",
  "😀",
  "'",
  '"',
  "`",
  "\\",
  "'; DROP TABLE notes; --",
  '") OR 1=1 --',
  "1; SELECT * FROM _changes",
  'notes" WHERE 1=1 --',
  "*",
  "null",
  "undefined",
  "NaN",
  "-1",
  "1e309",
  "9007199254740993",
  "true",
  "[]",
  "{}",
  "()",
  "((((((",
  ")",
  "a.b.c",
  "eq.",
  "not.",
  "not.not.eq.1",
  "in.(",
  "in.()",
  "cs.[",
  'cs.{"a":1}',
  "like.%",
  "x".repeat(129),
  "y".repeat(5_000),
  ...PROTO_KEYS,
];

const NAMESPACES = ["user", "workspace", "public", "nosuchns", "User", "internal", ...PROTO_KEYS];
const TABLES = ["notes", "tasks", "posts", "_changes", "_idempotency", "_meta", "sqlite_master", "secrets", ...PROTO_KEYS];
const COLUMNS = [
  "id",
  "title",
  "body",
  "done",
  "priority",
  "tags",
  "status",
  "assignee",
  "points",
  "createdAt",
  "updatedAt",
  "version",
  "rowid",
  "_seq",
  ...PROTO_KEYS,
];
const RESERVED = ["select", "order", "limit", "cursor", "count", "search", "or", "and", "onConflict"];
const OPS = ["eq", "neq", "gt", "gte", "lt", "lte", "like", "ilike", "in", "is", "cs", "fts", "between", ""];

/** encodeURIComponent that survives lone surrogates (replaced by U+FFFD, as a browser would). */
function enc(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return encodeURIComponent(s.replace(/[\uD800-\uDFFF]/g, "\uFFFD"));
  }
}

const nasty = fc.constantFrom(...NASTY_STRINGS);
const word = fc.stringMatching(/^[A-Za-z0-9_.-]{1,16}$/);
const anyString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "grapheme", maxLength: 20 }),
  fc.string({ unit: "binary", maxLength: 20 }),
);

/** A valid string with a broken or surprising percent escape spliced in. */
const percentMangled = (valid: fc.Arbitrary<string>): fc.Arbitrary<string> =>
  fc
    .tuple(valid, fc.nat(), fc.constantFrom("%", "%Z", "%ZZ", "%E0%A4", "%C0%AF", "%FF", "%00", "%25", "%2F", "%3A", "%u0041"))
    .map(([s, at, broken]) => s.slice(0, at % (s.length + 1)) + broken + s.slice(at % (s.length + 1)));

/** One URL path segment: valid most of the time, hostile often. */
const segment = (valid: fc.Arbitrary<string>): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 4, arbitrary: valid },
    { weight: 2, arbitrary: nasty },
    { weight: 1, arbitrary: percentMangled(valid) },
    { weight: 1, arbitrary: anyString },
    { weight: 1, arbitrary: word },
  );

/** A block name from the grammar `<namespace>[:<id>]`, or a mutation of one. */
export const blockName: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom("user:victim", "user:mallory", "workspace:wsvictim", "workspace:wsmallory", "public") },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom(...NAMESPACES), fc.option(segment(word), { nil: undefined }))
      .map(([ns, id]) => (id === undefined ? ns : `${ns}:${id}`)),
  },
  { weight: 1, arbitrary: segment(word) },
);

const tableName = segment(fc.constantFrom(...TABLES));

/** Encodes a segment the way a client might: raw, percent-encoded, or double-encoded. */
const encoded = (arb: fc.Arbitrary<string>): fc.Arbitrary<string> =>
  fc.tuple(arb, fc.constantFrom("raw", "enc", "double")).map(([s, how]) => (how === "raw" ? s : how === "enc" ? enc(s) : enc(enc(s))));

/** Paths of the data routes for blocks drawn from `blocks`, with hostile tables, ids and encodings. */
export function dataPath(blocks: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.tuple(encoded(blocks), encoded(tableName)).map(([b, t]) => `/api/db/${b}/tables/${t}`) },
    {
      weight: 4,
      arbitrary: fc
        .tuple(encoded(blocks), encoded(tableName), encoded(segment(fc.constantFrom("v-note-1", "v-task-1", "v-post-1", "m-1"))))
        .map(([b, t, id]) => `/api/db/${b}/tables/${t}/${id}`),
    },
    { weight: 2, arbitrary: encoded(blocks).map((b) => `/api/db/${b}/batch`) },
    { weight: 1, arbitrary: encoded(blocks).map((b) => `/api/realtime/${b}`) },
  );
}

/** A path built from the route table, with mutations (extra segments, dot segments, double slashes). */
export const path: fc.Arbitrary<string> = fc.oneof(
  { weight: 11, arbitrary: dataPath(blockName) },
  {
    weight: 2,
    arbitrary: encoded(segment(fc.constantFrom("mallory:k1", "victim:k1", "shared-key", "mallory:"))).map((k) => `/api/ratelimit/${k}`),
  },
  { weight: 1, arbitrary: fc.constant("/api/health") },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        fc.array(
          encoded(segment(fc.constantFrom("api", "db", "tables", "batch", "realtime", "ratelimit", "internal", "health", "..", "."))),
          { minLength: 1, maxLength: 7 },
        ),
        fc.boolean(),
      )
      .map(([parts, doubled]) => `/${parts.join(doubled ? "//" : "/")}`),
  },
);

const filterValue = fc.oneof(
  word,
  nasty,
  fc.integer().map(String),
  fc.double().map(String),
  fc.constantFrom("true", "false", "null", "(a,b)", '["urgent"]', "*plan*"),
);

/** One `<op>.<value>` term, sometimes negated, sometimes broken. */
const term = fc
  .tuple(fc.boolean(), fc.constantFrom(...OPS), filterValue)
  .map(([negate, op, value]) => `${negate ? "not." : ""}${op}${op ? "." : ""}${value}`);

/** `or=(...)`/`and=(...)` bodies, nested up to a random depth (deep enough to hit the depth limit). */
const logicTree: fc.Arbitrary<string> = fc.letrec<{ tree: string }>((tie) => ({
  tree: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.tuple(fc.constantFrom(...COLUMNS), term).map(([c, t]) => `${c}.${t}`),
    fc
      .tuple(fc.constantFrom("or", "and", "not.or", "xor"), fc.array(tie("tree"), { minLength: 1, maxLength: 3 }))
      .map(([k, items]) => `${k}(${items.join(",")})`),
  ),
})).tree;

const deepLogic = fc.integer({ min: 5, max: 200 }).map((depth) => `or=${"(and(".repeat(depth)}done.eq.true${"))".repeat(depth)}`);

/** One query-string parameter from the grammar, or a mutation. */
const queryParam: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(fc.constantFrom(...COLUMNS), term).map(([c, t]) => `${c}=${enc(t)}`) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom("or", "and"), fc.array(logicTree, { minLength: 1, maxLength: 3 }))
      .map(([k, items]) => `${k}=${enc(`(${items.join(",")})`)}`),
  },
  { weight: 1, arbitrary: deepLogic },
  {
    weight: 2,
    arbitrary: fc.tuple(fc.constantFrom(...RESERVED), fc.oneof(word, nasty, fc.integer().map(String))).map(([k, v]) => `${k}=${enc(v)}`),
  },
  {
    weight: 1,
    arbitrary: fc
      .array(fc.tuple(fc.constantFrom(...COLUMNS), fc.constantFrom("asc", "desc", "up", "")), { maxLength: 4 })
      .map((xs) => `order=${xs.map(([c, d]) => (d ? `${c}.${d}` : c)).join(",")}`),
  },
  { weight: 1, arbitrary: fc.array(fc.constantFrom(...COLUMNS), { maxLength: 5 }).map((xs) => `select=${xs.join(",")}`) },
  { weight: 1, arbitrary: fc.tuple(segment(word), segment(word)).map(([k, v]) => `${enc(k)}=${enc(v)}`) },
  { weight: 1, arbitrary: anyString },
);

/** A whole query string (without `?`), sometimes huge. */
export const queryString: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.array(queryParam, { maxLength: 6 }).map((ps) => ps.join("&")) },
  { weight: 1, arbitrary: fc.integer({ min: 1_000, max: 20_000 }).map((n) => `title=eq.${"q".repeat(n)}`) },
);

/** Methods, including ones no route takes. */
export const method = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom("GET", "POST", "PATCH", "DELETE") },
  { weight: 1, arbitrary: fc.constantFrom("PUT", "HEAD", "OPTIONS", "QUERY", "PROPFIND", "get", "Patch") },
);

/** A JSON-ish row for the demo tables: right columns, wrong types, forged system columns. */
const rowLike = fc.dictionary(
  fc.oneof(fc.constantFrom(...COLUMNS), word),
  fc.oneof(
    fc.jsonValue({ maxDepth: 2 }),
    nasty,
    fc.constantFrom({ $inc: 1 }, { $inc: "x" }, { $append: [1] }, { $set: 1 }, { $inc: 1e308 }),
  ),
  { maxKeys: 6 },
);

/**
 * A request body as raw text (so malformed JSON is possible). Raw text lets `__proto__` be an own key,
 * which JSON.stringify of an object literal cannot produce.
 */
export const bodyText: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: rowLike.map((r) => JSON.stringify(r)) },
  { weight: 2, arbitrary: fc.array(rowLike, { maxLength: 4 }).map((r) => JSON.stringify(r)) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        fc.array(
          fc.record(
            {
              op: fc.oneof(fc.constantFrom("insert", "update", "delete"), word),
              table: tableName,
              id: fc.option(word, { nil: undefined }),
              data: rowLike,
            },
            { requiredKeys: [] },
          ),
          { maxLength: 5 },
        ),
        fc.boolean(),
      )
      .map(([ops, wrapped]) => JSON.stringify(wrapped ? { ops } : ops)),
  },
  {
    weight: 1,
    arbitrary: fc
      .record(
        {
          policy: fc.oneof(word, fc.constantFrom("api", "actions", ...PROTO_KEYS)),
          limit: fc.oneof(fc.integer(), fc.double()),
          periodMs: fc.oneof(fc.integer(), fc.constant(0)),
          cost: fc.oneof(fc.integer({ min: -5, max: 1e9 }), fc.double()),
          algorithm: fc.oneof(word, fc.constantFrom("gcra", "token_bucket", "sliding_window", "fixed_window")),
          mode: fc.oneof(word, fc.constantFrom("enforce", "dry_run", "shadow")),
          requestId: anyString,
        },
        { requiredKeys: [] },
      )
      .map((r) => JSON.stringify(r)),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '{"__proto__":{"admin":true,"role":"admin"},"title":"p"}',
      '{"constructor":{"prototype":{"polluted":true}},"title":"c"}',
      '{"ops":[{"op":"insert","table":"__proto__","data":{"title":"x"}}]}',
      '[{"__proto__":{"title":1}}]',
      '{"policies":[{"policy":"__proto__"}]}',
    ),
  },
  { weight: 1, arbitrary: fc.integer({ min: 10, max: 100_000 }).map((depth) => `${"[".repeat(depth)}${"]".repeat(depth)}`) },
  { weight: 1, arbitrary: fc.integer({ min: 10, max: 50_000 }).map((depth) => `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`) },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 1_000, max: 300_000 }).map((n) => JSON.stringify({ title: "t".repeat(n), body: "b".repeat(n) })),
  },
  {
    weight: 1,
    arbitrary: fc.oneof(anyString, fc.constantFrom("{", "[1,", '{"title":}', "nul", "\u0000", '{"a":1}{"b":2}', "1".repeat(400))),
  },
);

/** Content types, mostly JSON. */
export const contentType = fc.oneof(
  { weight: 5, arbitrary: fc.constant("application/json") },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "application/json; charset=utf-8",
      "text/plain",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
      "application/jsonx",
      "APPLICATION/JSON",
      "",
    ),
  },
);

const headerValue = fc.oneof(
  word,
  fc.stringMatching(/^[\x21-\x7e]{0,300}$/),
  fc.constantFrom('"1"', '"0"', 'W/"3"', "*", '"-1"', '"99999999999999999999"', "1,2"),
);

/** Optional request headers the routes read. Values stay legal header text so `Headers` accepts them. */
export const extraHeaders = fc.record(
  {
    "If-Match": headerValue,
    "If-None-Match": headerValue,
    "Idempotency-Key": headerValue,
    "X-Request-Id": headerValue,
    Origin: fc.constantFrom("https://app.example.com", "https://evil.example", "null"),
    "Sec-WebSocket-Protocol": fc.constantFrom("actorbase.v1", "bearer.x", "actorbase.v1, bearer.a.b.c"),
  },
  { requiredKeys: [] },
);

/** Which credential to send; the test maps the index to a real header (tokens are signed at runtime). */
export const credentialIndex = (count: number): fc.Arbitrary<number> => fc.integer({ min: 0, max: count - 1 });

/** One whole hostile HTTP request. */
export interface FuzzRequest {
  method: string;
  path: string;
  query: string;
  body: string | null;
  contentType: string;
  headers: Record<string, string>;
  credential: number;
}

/** Builds the request arbitrary; `credentials` is how many credential choices the test offers. */
export function fuzzRequest(credentials: number, paths: fc.Arbitrary<string> = path): fc.Arbitrary<FuzzRequest> {
  return fc.record({
    method,
    path: paths,
    query: fc.option(queryString, { nil: "", freq: 3 }),
    body: fc.option(bodyText, { nil: null, freq: 5 }),
    contentType,
    headers: extraHeaders,
    credential: credentialIndex(credentials),
  });
}

/** The WebSocket client messages of docs/realtime.md, as raw text, valid or mutated. */
export const socketMessage: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .record(
        {
          type: fc.constantFrom("subscribe", "unsubscribe"),
          id: fc.oneof(word, nasty),
          table: tableName,
          filter: fc.oneof(queryString, nasty),
          since: fc.oneof(fc.integer(), fc.double(), fc.constant(-1), word),
          snapshot: fc.oneof(fc.boolean(), word),
        },
        { requiredKeys: ["type"] },
      )
      .map((m) => JSON.stringify(m)),
  },
  {
    weight: 2,
    arbitrary: fc
      .record(
        {
          type: fc.constantFrom("broadcast", "presence", "presence.leave"),
          channel: fc.oneof(word, nasty),
          event: fc.oneof(word, nasty),
          payload: fc.jsonValue({ maxDepth: 3 }),
          state: fc.jsonValue({ maxDepth: 3 }),
        },
        { requiredKeys: ["type"] },
      )
      .map((m) => JSON.stringify(m)),
  },
  {
    weight: 1,
    arbitrary: fc.record({ type: fc.constant("auth"), token: fc.oneof(word, nasty, fc.constant("a.b.c")) }).map((m) => JSON.stringify(m)),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '{"type":"ping"}',
      '{"type":"__proto__"}',
      '{"type":"constructor"}',
      '{"__proto__":{"type":"subscribe"}}',
      "[]",
      "null",
      "42",
      '"x"',
      "{",
      "",
    ),
  },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)) },
  { weight: 1, arbitrary: anyString },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 10, max: 20_000 })
      .map((depth) => `${'{"type":"subscribe","id":'.repeat(1)}${"[".repeat(depth)}${"]".repeat(depth)}}`),
  },
);
