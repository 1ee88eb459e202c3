/**
 * `AUTH_MAILER=webhook:<url>`: the accounts service POSTs each message as JSON to the operator's
 * mail service, here a Node server on localhost, through a server of our own started with it.
 */
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { type IncomingMessage, type ServerResponse, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error plain ESM script without type declarations
import { startServer } from "../../scripts/server.mjs";
import { E2E_VARS } from "./secrets";

const received: Record<string, unknown>[] = [];
let refuse = false;
const mailService = createServer((req: IncomingMessage, res: ServerResponse) => {
  let body = "";
  req.on("data", (chunk) => {
    body += chunk;
  });
  req.on("end", () => {
    if (!refuse) received.push({ ...JSON.parse(body), contentType: req.headers["content-type"] });
    res.statusCode = refuse ? 500 : 202;
    res.end();
  });
});
let server: { url: string; stop: () => Promise<void> };
let dataDir: string;

beforeAll(async () => {
  mailService.listen(0, "127.0.0.1");
  await once(mailService, "listening");
  const port = (mailService.address() as AddressInfo).port;
  dataDir = mkdtempSync(join(tmpdir(), "actorbase-mail-"));
  server = await startServer({ persistTo: dataDir, vars: { ...E2E_VARS, AUTH_MAILER: `webhook:http://127.0.0.1:${port}/mail` } });
});

afterAll(async () => {
  await server?.stop();
  mailService.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const post = (path: string, body: unknown, bearer?: string) =>
  fetch(`${server.url}/api/auth/${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...(bearer ? { Authorization: `Bearer ${bearer}` } : {}) },
    body: JSON.stringify(body),
  });

describe("the mail webhook", () => {
  it("posts the verification mail as JSON, and the token in it verifies the email", async () => {
    const email = `hook-${Date.now()}@example.com`;
    const { session } = (await (await post("signup", { email, password: "webhook password" })).json()) as {
      session: { accessToken: string };
    };
    expect((await post("verify/request", {}, session.accessToken)).status).toBe(202);
    const mail = received.find((m) => m.to === email && m.kind === "verify");
    expect(mail).toMatchObject({ to: email, kind: "verify", contentType: "application/json" });
    expect(String(mail?.text)).toContain(String(mail?.token));
    const verified = await post("verify", { token: mail?.token });
    expect(((await verified.json()) as { user: { emailVerified: boolean } }).user.emailVerified).toBe(true);
    // The outbox belongs to the log mailer: nothing is kept there.
    const outbox = await fetch(`${server.url}/api/auth/outbox`, { headers: { Authorization: `Bearer ${E2E_VARS.SERVICE_KEY}` } });
    expect(((await outbox.json()) as { items: unknown[] }).items).toHaveLength(0);
  });

  it("answers 503 with Retry-After when the mail service refuses the message", async () => {
    const { session } = (await (
      await post("signup", { email: `refused-${Date.now()}@example.com`, password: "webhook password" })
    ).json()) as {
      session: { accessToken: string };
    };
    refuse = true;
    try {
      const response = await post("verify/request", {}, session.accessToken);
      expect(response.status).toBe(503);
      expect(response.headers.get("Retry-After")).toBe("5");
    } finally {
      refuse = false;
    }
  });
});
