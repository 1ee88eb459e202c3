/**
 * The JWT and tenant-isolation attack matrix over the data and rate-limit routes: every attacker
 * credential against every operation on another tenant's block or key. test/auth.test.ts covers the
 * token checks on their own; this file proves what they protect: refused with 401/403/404, no row
 * of the victim in any answer, and the victim's data and rate-limit state unchanged afterwards.
 */
import { SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { TEST_SECRETS } from "./env";
import { fetchWorker as call } from "./helpers/direct";
import { jsonInit, token } from "./helpers/http";
import { VICTIM_TABLES, seedVictims, victimSnapshot } from "./helpers/victims";

const now = () => Math.floor(Date.now() / 1000);

/** Every way of showing up without the right to the victim's blocks, by name. */
async function attackers(): Promise<Array<[string, Record<string, string>]>> {
  const wrongSecret = await new SignJWT({ workspaces: ["wsvictim"] })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject("victim")
    .setExpirationTime(now() + 600)
    .sign(new TextEncoder().encode("another-secret-0123456789abcdef012345"));
  const b64 = (v: unknown) => btoa(JSON.stringify(v)).replace(/=+$/, "").replaceAll("+", "-").replaceAll("/", "_");
  const unsigned = `${b64({ alg: "none", typ: "JWT" })}.${b64({ sub: "victim", exp: now() + 600, workspaces: ["wsvictim"] })}.`;
  const valid = await token("victim", { workspaces: ["wsvictim"], role: "admin" });
  const [header, , signature] = valid.split(".");
  const swapped = `${header}.${b64({ sub: "victim", exp: now() + 600, workspaces: ["wsvictim"], role: "admin" })}.${signature}`;
  return [
    ["anonymous", {}],
    ["another user", { Authorization: `Bearer ${await token("mallory", { workspaces: ["wsmallory"], role: "admin" })}` }],
    [
      "a workspaces claim that is a string",
      { Authorization: `Bearer ${await token("mallory", { workspaces: "wsvictim", role: "admin" })}` },
    ],
    [
      "look-alike sub and workspace ids",
      { Authorization: `Bearer ${await token("Victim", { workspaces: ["WSVICTIM", "wsvictim ", "wsvictim\u0000"], role: "admin" })}` },
    ],
    ["a sub that is a prefix of the victim's", { Authorization: `Bearer ${await token("vic", { workspaces: ["wsvic"] })}` }],
    ["the victim's expired token", { Authorization: `Bearer ${await token("victim", { workspaces: ["wsvictim"], role: "admin" }, -120)}` }],
    ["a token signed with another secret", { Authorization: `Bearer ${wrongSecret}` }],
    ["alg none", { Authorization: `Bearer ${unsigned}` }],
    ["a re-signed payload (claims swapped under the victim's signature)", { Authorization: `Bearer ${swapped}` }],
    ["a wrong service key header", { "X-Service-Key": `${TEST_SECRETS.SERVICE_KEY}-` }],
    ["a wrong service key bearer", { Authorization: `Bearer ${TEST_SECRETS.SERVICE_KEY.toUpperCase()}` }],
  ];
}

/** Every data operation, aimed at a victim table and its seeded row. */
function operations(block: string, table: string, id: string): Array<[string, string, RequestInit]> {
  const base = `/api/db/${block}/tables/${table}`;
  return [
    ["list", base, {}],
    ["list with a filter on the id", `${base}?id=eq.${id}`, {}],
    ["get", `${base}/${id}`, {}],
    ["insert", base, jsonInit("POST", { title: "planted" })],
    ["upsert over the victim's row", `${base}?onConflict=id`, jsonInit("POST", { id, title: "overwritten" })],
    ["update", `${base}/${id}`, jsonInit("PATCH", { title: "changed" })],
    ["update with If-Match", `${base}/${id}`, jsonInit("PATCH", { title: "changed" }, { "If-Match": '"1"' })],
    ["delete", `${base}/${id}`, { method: "DELETE" }],
    ["batch insert", `/api/db/${block}/batch`, jsonInit("POST", { ops: [{ op: "insert", table, data: { title: "planted" } }] })],
    ["batch delete", `/api/db/${block}/batch`, jsonInit("POST", { ops: [{ op: "delete", table, id }] })],
    ["batch update", `/api/db/${block}/batch`, jsonInit("POST", { ops: [{ op: "update", table, id, data: { title: "changed" } }] })],
  ];
}

describe("tenant isolation over REST", () => {
  let before: unknown[];
  let who: Array<[string, Record<string, string>]>;
  beforeAll(async () => {
    await seedVictims();
    before = await victimSnapshot();
    who = await attackers();
  });

  for (const { block, table, rows } of VICTIM_TABLES) {
    it(`refuses every attacker every operation on ${block}/${table} and leaks none of its rows`, async () => {
      const id = rows[0].id;
      const secrets = rows.map((r) => r.title);
      for (const [attacker, credentials] of who) {
        for (const [operation, path, init] of operations(block, table, id)) {
          const headers = { ...(init.headers as Record<string, string> | undefined), ...credentials };
          const response = await call(path, { ...init, headers });
          const text = await response.text();
          const where = `${attacker} → ${operation} on ${block}: ${response.status} ${text.slice(0, 200)}`;
          // The public block is readable by anyone: reads succeed there, writes never.
          const isRead = (init.method ?? "GET") === "GET";
          if (
            block === "public" &&
            isRead &&
            (attacker === "anonymous" ||
              attacker === "another user" ||
              attacker.startsWith("a workspaces") ||
              attacker.startsWith("look-alike") ||
              attacker.startsWith("a sub that"))
          ) {
            expect(response.status, where).toBe(200);
            continue;
          }
          expect([401, 403, 404], where).toContain(response.status);
          for (const secret of secrets) expect(text, where).not.toContain(secret);
        }
      }
      expect(await victimSnapshot()).toEqual(before);
    });
  }
});

describe("tenant isolation of rate-limit keys", () => {
  const peekVictim = async () => {
    const response = await call("/api/ratelimit/victim:k1?policy=actions", {
      headers: { Authorization: `Bearer ${await token("victim")}` },
    });
    expect(response.status).toBe(200);
    return ((await response.json()) as { remaining: number }).remaining;
  };

  it("lets a signed-in caller use a public policy on its own keys only, and never inline limits or private policies", async () => {
    const mallory = { Authorization: `Bearer ${await token("mallory")}` };
    const vic = { Authorization: `Bearer ${await token("vic")}` };
    const victimBefore = await peekVictim();
    const cases: Array<[string, string, RequestInit, number]> = [
      ["own key, public policy", "/api/ratelimit/mallory:login", jsonInit("POST", { policy: "actions" }, mallory), 200],
      ["the victim's key", "/api/ratelimit/victim:k1", jsonInit("POST", { policy: "actions" }, mallory), 403],
      ["a prefix of the victim's sub", "/api/ratelimit/victim:k1", jsonInit("POST", { policy: "actions" }, vic), 403],
      ["own sub without the separator", "/api/ratelimit/mallory", jsonInit("POST", { policy: "actions" }, mallory), 403],
      ["a sub-prefixed key of another user", "/api/ratelimit/malloryx:k", jsonInit("POST", { policy: "actions" }, mallory), 403],
      ["inline limits", "/api/ratelimit/mallory:k", jsonInit("POST", { limit: 1_000_000, periodMs: 1 }, mallory), 403],
      ["a private policy", "/api/ratelimit/mallory:k", jsonInit("POST", { policy: "api" }, mallory), 403],
      ["an inherited name as a policy", "/api/ratelimit/mallory:k", jsonInit("POST", { policy: "__proto__" }, mallory), 0],
      [
        "a public policy mixed with inline limits",
        "/api/ratelimit/mallory:k",
        jsonInit("POST", { policies: [{ policy: "actions" }, { limit: 1, periodMs: 1 }] }, mallory),
        0,
      ],
      ["a dry run on the victim's key", "/api/ratelimit/victim:k1", jsonInit("POST", { policy: "actions", mode: "dry_run" }, mallory), 403],
      ["a peek at the victim's key", "/api/ratelimit/victim:k1?policy=actions", { headers: mallory }, 403],
      ["a reset of the victim's key", "/api/ratelimit/victim:k1", { method: "DELETE", headers: mallory }, 403],
      ["a reset of its own key", "/api/ratelimit/mallory:login", { method: "DELETE", headers: mallory }, 403],
      ["anonymous", "/api/ratelimit/victim:k1", jsonInit("POST", { policy: "actions" }), 401],
      ["a wrong service key", "/api/ratelimit/victim:k1", { method: "DELETE", headers: { "X-Service-Key": "nope" } }, 401],
    ];
    // 0: any refusal (4xx) will do.
    for (const [name, path, init, status] of cases) {
      const response = await call(path, init);
      if (status === 0) expect(response.status >= 400 && response.status < 500, `${name}: ${response.status}`).toBe(true);
      else expect([response.status, name]).toEqual([status, name]);
    }
    expect(await peekVictim()).toBe(victimBefore);
  });

  it("keeps each caller's keys apart: draining one user's key leaves another's with the same suffix full", async () => {
    const mallory = { Authorization: `Bearer ${await token("mallory")}` };
    for (let i = 0; i < 12; i++) await call("/api/ratelimit/mallory:shared", jsonInit("POST", { policy: "actions" }, mallory));
    const denied = await call("/api/ratelimit/mallory:shared", jsonInit("POST", { policy: "actions" }, mallory));
    expect(((await denied.json()) as { allowed: boolean }).allowed).toBe(false);
    const victim = await call(
      "/api/ratelimit/victim:shared",
      jsonInit("POST", { policy: "actions" }, { Authorization: `Bearer ${await token("victim")}` }),
    );
    expect(await victim.json()).toMatchObject({ allowed: true, remaining: 9 });
  });
});
