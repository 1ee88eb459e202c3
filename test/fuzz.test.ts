/**
 * Hostile input over every HTTP route, inside workerd: requests generated from the API's grammar and
 * mutated (see helpers/fuzz-grammar.ts), sent by callers with no right to the victim blocks. A
 * failure prints the shrunk request and the seed to replay it.
 */
import fc from "fast-check";
import { SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { TEST_SECRETS } from "./env";
import { type FuzzRequest, dataPath, fuzzRequest } from "./helpers/fuzz-grammar";
import { fetchWorker as call } from "./helpers/direct";
import { SERVICE, jsonInit, token } from "./helpers/http";
import { seedVictims, victimSnapshot } from "./helpers/victims";

// Raise RUNS locally for a deeper search; a failure prints the seed and path to replay it with `seed`.
const RUNS = 1_000;
const REQUEST_TIMEOUT_MS = 10_000;

/** Credentials none of which may change the victim data (no service key, no victim token). */
async function attackerCredentials(): Promise<Array<Record<string, string>>> {
  const now = Math.floor(Date.now() / 1000);
  const wrongSecret = await new SignJWT({})
    .setProtectedHeader({ alg: "HS256" })
    .setSubject("victim")
    .setExpirationTime(now + 600)
    .sign(new TextEncoder().encode("not-the-secret-0123456789abcdef"));
  const unsigned = `${btoa(JSON.stringify({ alg: "none", typ: "JWT" })).replace(/=+$/, "")}.${btoa(JSON.stringify({ sub: "victim", exp: now + 600 })).replace(/=+$/, "")}.`;
  return [
    {},
    { Authorization: `Bearer ${await token("mallory", { workspaces: ["wsmallory"], role: "admin" })}` },
    { Authorization: `Bearer ${await token("mallory", { workspaces: "wsvictim", role: "admin" })}` },
    { Authorization: `Bearer ${await token("Victim", { workspaces: ["WSVICTIM", "wsvictim "] })}` },
    { Authorization: `Bearer ${await token("victim", { workspaces: ["wsvictim"] }, -120)}` },
    { Authorization: `Bearer ${wrongSecret}` },
    { Authorization: `Bearer ${unsigned}` },
    { Authorization: "Bearer a.b.c" },
    { Authorization: `Basic ${btoa("victim:victim")}` },
    { "X-Service-Key": `${TEST_SECRETS.SERVICE_KEY}x` },
    { Authorization: `Bearer ${TEST_SECRETS.SERVICE_KEY.slice(0, -1)}` },
  ];
}

/** Turns a generated request into a Request, or null when the platform itself refuses to build it. */
function build(input: FuzzRequest, credentials: Array<Record<string, string>>): Request | null {
  const headers = new Headers();
  try {
    for (const [name, value] of Object.entries({ ...input.headers, ...credentials[input.credential] })) headers.set(name, value);
    if (input.contentType) headers.set("Content-Type", input.contentType);
    const withBody = input.body !== null && input.method !== "GET" && input.method !== "HEAD";
    return new Request(`https://actorbase.test${input.path}${input.query ? `?${input.query}` : ""}`, {
      method: input.method,
      headers,
      ...(withBody ? { body: input.body } : {}),
    });
  } catch {
    return null;
  }
}

async function send(request: Request): Promise<Response> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms: ${request.method} ${request.url.slice(0, 300)}`)),
      REQUEST_TIMEOUT_MS,
    );
  });
  try {
    return await Promise.race([call(request.url.replace("https://actorbase.test", ""), request), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** What every answer to bad input must look like: a 4xx problem (or a success), never a 5xx. */
async function expectWellFormed(response: Response, request: Request): Promise<void> {
  const where = `${request.method} ${request.url.slice(0, 300)}`;
  const text = await response.text();
  expect(response.status, `${where} → ${response.status} ${text.slice(0, 300)}`).toBeLessThan(500);
  expect(response.headers.get("X-Request-Id"), where).toBeTruthy();
  if (response.status >= 400 && request.method !== "HEAD") {
    expect(response.headers.get("Content-Type"), where).toBe("application/problem+json");
    const problem = JSON.parse(text) as { status: number; code: string };
    expect(problem.status, where).toBe(response.status);
    expect(problem.code, where).toMatch(/^[A-Z][A-Z0-9_]*$/);
  }
}

describe("hostile HTTP requests", () => {
  let credentials: Array<Record<string, string>>;
  let before: unknown[];

  beforeAll(async () => {
    credentials = await attackerCredentials();
    await seedVictims();
    before = await victimSnapshot();
  });

  it("never answer 5xx or hang, always answer problem+json, and never change the victims' data", async () => {
    await fc.assert(
      fc.asyncProperty(fuzzRequest(11), async (input) => {
        const request = build(input, credentials);
        fc.pre(request !== null);
        const response = await send(request as Request);
        await expectWellFormed(response, request as Request);
        if (response.status < 300 && input.method !== "GET" && input.method !== "HEAD") {
          expect(await victimSnapshot(), `${input.method} ${input.path} changed victim data`).toEqual(before);
        }
      }),
      { numRuns: RUNS },
    );
    expect(await victimSnapshot()).toEqual(before);
  }, 180_000);

  it("leave the server healthy: health answers and a valid write then read round-trips", async () => {
    const health = await call("/api/health");
    expect(health.status).toBe(200);
    const headers = { Authorization: `Bearer ${await token("fuzz-after")}` };
    const created = await call("/api/db/user:fuzz-after/tables/notes", jsonInit("POST", { id: "after-1", title: "still works" }, headers));
    expect(created.status).toBe(201);
    const read = await call("/api/db/user:fuzz-after/tables/notes/after-1", { headers });
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({ id: "after-1", title: "still works", version: 1 });
    const service = await call("/api/db/public/tables/posts?order=id.asc", { headers: SERVICE });
    expect(service.status).toBe(200);
  });
});

/** The change-log position of each of the attacker's own blocks: a refused write must not move it. */
async function ownSeqs(): Promise<Array<string | null>> {
  const out: Array<string | null> = [];
  for (const [block, table] of [
    ["user:mallory", "notes"],
    ["workspace:wsmallory", "tasks"],
  ]) {
    out.push((await call(`/api/db/${block}/tables/${table}?limit=1`, { headers: SERVICE })).headers.get("X-Seq"));
  }
  return out;
}

describe("hostile input on the caller's own blocks", () => {
  it("never answers 5xx or hangs, and a refused write leaves no trace (no partial write, no change-log entry)", async () => {
    await seedVictims();
    const before = await victimSnapshot();
    const mallory = [{ Authorization: `Bearer ${await token("mallory", { workspaces: ["wsmallory"], role: "admin" })}` }];
    for (const [block, table] of [
      ["user:mallory", "notes"],
      ["workspace:wsmallory", "tasks"],
    ]) {
      await call(`/api/db/${block}/tables/${table}?onConflict=id`, jsonInit("POST", { id: "m-1", title: "mallory's own" }, SERVICE));
    }
    await fc.assert(
      fc.asyncProperty(fuzzRequest(1, dataPath(fc.constantFrom("user:mallory", "workspace:wsmallory"))), async (input) => {
        const request = build(input, mallory);
        fc.pre(request !== null);
        const seqs = input.method === "GET" ? null : await ownSeqs();
        const response = await send(request as Request);
        await expectWellFormed(response, request as Request);
        if (seqs && response.status >= 400) expect(await ownSeqs(), `${input.method} ${input.path} was refused but wrote`).toEqual(seqs);
      }),
      { numRuns: RUNS },
    );
    expect(await victimSnapshot()).toEqual(before);
  }, 180_000);
});

describe("requests the fuzzer found", () => {
  it.each([
    ["DELETE", "/api/db/public/tables/like.%/x"],
    ["GET", "/api/db/user:victim/tables/%ZZ"],
    ["GET", "/api/db/user:victim/tables/%E0%A4%A"],
  ])("%s %s answers 400 or 404, not 500 (malformed percent-encoding in the table name)", async (method, path) => {
    const response = await call(path, { method, headers: { Authorization: `Bearer ${await token("victim")}` } });
    expect([400, 404]).toContain(response.status);
    expect(response.headers.get("Content-Type")).toBe("application/problem+json");
  });
});

describe("deeply nested JSON bodies", () => {
  it("are refused with 400 JSON_TOO_DEEP before reaching an actor (the RPC used to overflow its stack: 500)", async () => {
    const deep = `${"[".repeat(5_000)}${"]".repeat(5_000)}`;
    const response = await call("/api/db/user:victim/batch", {
      method: "POST",
      body: deep,
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${await token("victim")}` },
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { code: string }).code).toBe("JSON_TOO_DEEP");
  });

  it("are accepted up to 64 levels, brackets inside strings not counted", async () => {
    const headers = { Authorization: `Bearer ${await token("deep-ok")}` };
    const nested = JSON.parse(`${"[".repeat(62)}${"]".repeat(62)}`) as unknown[];
    const response = await call(
      "/api/db/user:deep-ok/tables/notes",
      jsonInit("POST", { title: "[[[[{{{{".repeat(20), tags: nested }, headers),
    );
    expect(response.status).toBe(201);
    expect(((await response.json()) as { tags: unknown }).tags).toEqual(nested);
  });
});
