// The web console (docs/console.md) in a real headless Chromium against the real server: sign-in,
// the catalog, the table browser (query grammar, insert with field errors, If-Match edits, delete),
// the live tail, rate-limit keys, accounts, the API explorer, text-only rendering and the CSP.
import type { Browser, Page } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type PageLog,
  consoleUrl,
  fill,
  launch,
  openTab,
  screenshot,
  submitKey,
  textOf,
  unlabelled,
  until,
  visit,
  waitForText,
} from "./console/browser";
import { SERVICE_HEADERS, api, baseUrl, token, unique } from "./helpers";
import { E2E_VARS } from "./secrets";

const KEY = E2E_VARS.SERVICE_KEY;
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
const JSON_SERVICE = { ...SERVICE_HEADERS, "Content-Type": "application/json" };

interface Note {
  id: string;
  title: string;
  version: number;
  priority: number;
  done: boolean;
}

/** Inserts rows through the API with the service key; answers the stored rows and the write's seq. */
async function seed(block: string, table: string, rows: Record<string, unknown>[]): Promise<{ items: Note[]; seq: number }> {
  const response = await api(`/api/db/${encodeURIComponent(block)}/tables/${table}`, {
    method: "POST",
    headers: JSON_SERVICE,
    body: JSON.stringify(rows),
  });
  expect(response.status).toBe(201);
  const body = (await response.json()) as { items: Note[] };
  return { items: body.items, seq: Number(response.headers.get("X-Seq")) };
}

/** A row as the API has it now (null when gone). */
async function row(block: string, table: string, id: string): Promise<Note | null> {
  const response = await api(`/api/db/${encodeURIComponent(block)}/tables/${table}/${id}`, { headers: SERVICE_HEADERS });
  if (response.status === 404) return null;
  expect(response.status).toBe(200);
  return (await response.json()) as Note;
}

/** Waits until the blocks page lists exactly these blocks (a search replaces the page it searched from). */
async function waitForBlocks(page: Page, names: string[]): Promise<void> {
  await page.waitForFunction(
    (want: string[]) => {
      const shown = Array.from(document.querySelectorAll("tr[data-block]"), (row) => row.getAttribute("data-block"));
      return shown.length === want.length && shown.every((name, i) => name === want[i]);
    },
    { timeout: 30_000 },
    names,
  );
}

// Browser steps each wait up to 30 s (slow CI machines); a test may take several of them.
describe("console", { timeout: 120_000 }, () => {
  let browser: Browser;
  let page: Page;
  let log: PageLog;

  beforeAll(async () => {
    const html = await api("/console");
    if (html.status !== 200) throw new Error(`GET /console answered ${html.status}: build the console first (npm run build:console).`);
    browser = await launch();
    ({ page, log } = await openTab(browser));
  });

  afterAll(async () => {
    await browser?.close();
  });

  it("serves the page and its assets with the content security policy, and / redirects to it", async () => {
    for (const path of ["/console", "/console/", "/console/app.js", "/console/app.css"]) {
      const response = await api(path);
      expect(response.status, path).toBe(200);
      expect(response.headers.get("Content-Security-Policy"), path).toBe(CSP);
      const body = await response.text();
      if (path.startsWith("/console/app")) continue;
      // No inline code for the CSP to allow: every script has a src, and no style attributes or elements.
      expect(body).toMatch(/<script type="module" src="\/console\/app\.js"><\/script>/);
      expect(body).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>|<style|style=/);
    }
    const root = await api("/", { redirect: "manual" });
    expect([301, 302, 303, 307, 308]).toContain(root.status);
    expect(new URL(root.headers.get("Location") ?? "", root.url).pathname).toBe("/console");
  });

  it("shows the sign-in form again, with the error and no data, for a wrong or missing key", async () => {
    await page.goto(consoleUrl("blocks"));
    await page.evaluate(() => sessionStorage.clear());
    await page.reload();
    await submitKey(page, "not-the-service-key");
    await waitForText(page, "#signin-error", "refused");
    expect(await textOf(page, "#signin-error")).toMatch(/401/);
    await screenshot(page, "sign-in");
    await submitKey(page, "");
    await waitForText(page, "#signin-error", "401 AUTH_REQUIRED");
    // A user's JWT is a valid credential but not an operator's: refused with 403, same form.
    await submitKey(page, await token(unique("console-user-")));
    await waitForText(page, "#signin-error", "403");
    expect(await page.$("nav[aria-label=Console]")).toBeNull();
    expect(await page.$("table")).toBeNull();
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
  });

  it("signs in with the service key, keeps it for the tab only, and signs out", async () => {
    await submitKey(page, KEY);
    await page.waitForSelector("nav[aria-label=Console]", { timeout: 30_000 });
    await waitForText(page, "h1", "Blocks");
    expect(await page.evaluate(() => Object.values(sessionStorage))).toEqual([KEY]);
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
    // A reload keeps the session (same tab).
    await page.reload();
    await page.waitForSelector("nav[aria-label=Console]", { timeout: 30_000 });
    await page.click("header button");
    await page.waitForSelector("#service-key", { timeout: 30_000 });
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await submitKey(page, KEY);
    await page.waitForSelector("nav[aria-label=Console]", { timeout: 30_000 });
  });

  it("shows the config's namespaces, rules, columns, indexes and search columns", async () => {
    await visit(page, "schema", KEY);
    await waitForText(page, "h2", "user");
    const text = await textOf(page, "main");
    expect(text).toContain("isOwner");
    expect(text).toContain("isMember");
    expect(text).toContain("dynamic");
    expect(text).toContain("static");
    expect(text).toContain("required; at most 200");
    expect(text).toContain("default todo; one of todo, doing, done");
    expect(text).toContain("(done, priority)");
    expect(text).toContain("Search: title, body");
    await screenshot(page, "schema");
  });

  it("lists the demo's blocks from the catalog, with rows per table, and links to the browser and the tail", async () => {
    const id = unique("cat");
    const user = `user:${id}`;
    const workspace = `workspace:${id}`;
    await seed(user, "notes", [{ title: "one" }, { title: "two" }, { title: "three" }]);
    await seed(workspace, "tasks", [{ title: "plan" }, { title: "ship", status: "doing" }]);
    await seed("public", "posts", [{ title: "hello" }]);
    // Statistics are coalesced: the catalog shows the rows within seconds.
    await until(async () => {
      const response = await api(`/api/admin/blocks?prefix=${encodeURIComponent(user)}`, { headers: SERVICE_HEADERS });
      const page = (await response.json()) as { items: { name: string; tables: Record<string, { rows: number }> }[] };
      return page.items.find((b) => b.name === user)?.tables.notes?.rows === 3;
    }, `${user} in the catalog with 3 notes`);
    await until(async () => {
      const response = await api(`/api/admin/blocks?namespace=workspace&prefix=${encodeURIComponent(workspace)}`, {
        headers: SERVICE_HEADERS,
      });
      return ((await response.json()) as { items: { tables: Record<string, { rows: number }> }[] }).items[0]?.tables.tasks?.rows === 2;
    }, `${workspace} in the catalog with 2 tasks`);

    await visit(page, "blocks", KEY);
    await page.waitForSelector("tr[data-block]", { timeout: 30_000 });
    await screenshot(page, "blocks");
    await page.type("#blocks-prefix", user);
    await page.click("form[aria-label='Search blocks'] button[type=submit]");
    await waitForBlocks(page, [user]);
    expect(await textOf(page, `tr[data-block="${user}"]`)).toContain("notes: 3");
    const links = await page.$$eval(`tr[data-block="${user}"] a`, (as) => as.map((a) => a.getAttribute("href")));
    expect(links).toEqual([`#/tables/${encodeURIComponent(user)}/notes`, `#/tail/${encodeURIComponent(user)}`]);

    await fill(page, "#blocks-prefix", "");
    await page.select("#blocks-namespace", "workspace");
    await page.type("#blocks-prefix", workspace);
    await page.click("form[aria-label='Search blocks'] button[type=submit]");
    await waitForBlocks(page, [workspace]);
    expect(await textOf(page, `tr[data-block="${workspace}"]`)).toContain("tasks: 2");
    await waitForText(page, "main h2", "workspace");

    await page.click(`tr[data-block="${workspace}"] a.chip`);
    await waitForText(page, "#page-summary", "of 2");
  });

  it("filters, orders and pages a table of 200 rows by cursor", async () => {
    const block = `user:${unique("page")}`;
    const rows = Array.from({ length: 200 }, (_, i) => ({
      title: `note ${String(i).padStart(3, "0")}`,
      priority: i % 5,
      done: i % 2 === 0,
    }));
    await seed(block, "notes", rows);
    const matching = rows.filter((r) => !r.done && r.priority > 1).length;
    expect(matching).toBe(60);

    await visit(page, `tables/${encodeURIComponent(block)}/notes`, KEY);
    await waitForText(page, "#page-summary", "Rows 1–50 of 200, page 1");
    await page.type("#query-filter", "done=eq.false&priority=gt.1");
    await page.type("#query-order", "priority.desc");
    await page.select("#query-limit", "25");
    await page.click("form[aria-label=Query] button[type=submit]");
    await waitForText(page, "#page-summary", `Rows 1–25 of ${matching}, page 1`);
    await screenshot(page, "table");

    const seen: string[] = [];
    const pages: { priority: number; done: string }[][] = [];
    for (let n = 1; ; n++) {
      const cells = await page.$$eval("tr[data-id]", (trs) =>
        trs.map((tr) => ({
          id: tr.getAttribute("data-id") ?? "",
          priority: Number(tr.querySelector("[data-column=priority]")?.textContent),
          done: tr.querySelector("[data-column=done]")?.textContent ?? "",
        })),
      );
      seen.push(...cells.map((c) => c.id));
      pages.push(cells);
      if (await page.$eval("button::-p-text(Next page)", (b) => (b as HTMLButtonElement).disabled)) break;
      await page.click("button::-p-text(Next page)");
      await waitForText(page, "#page-summary", `, page ${n + 1},`);
    }
    expect(pages.map((p) => p.length)).toEqual([25, 25, 10]);
    expect(new Set(seen).size).toBe(matching);
    const all = pages.flat();
    expect(all.every((c) => c.done === "false" && c.priority > 1)).toBe(true);
    expect(all.map((c) => c.priority)).toEqual([...all.map((c) => c.priority)].sort((a, b) => b - a));

    await page.click("button::-p-text(Previous page)");
    await waitForText(page, "#page-summary", `Rows 26–50 of ${matching}, page 2`);
    expect(await page.$$eval("tr[data-id]", (trs) => trs.map((tr) => tr.getAttribute("data-id")))).toEqual(seen.slice(25, 50));
  });

  it("shows a validation error next to the field it names, then inserts the fixed row", async () => {
    const block = `user:${unique("ins")}`;
    const refused = await api(`/api/db/${encodeURIComponent(block)}/tables/notes`, {
      method: "POST",
      headers: JSON_SERVICE,
      body: JSON.stringify({ priority: 3 }),
    });
    expect(refused.status).toBe(422);
    const problem = (await refused.json()) as { errors: Record<string, string> };
    expect(problem.errors.title).toBeTruthy();

    // The block has never been written, so the catalog cannot list it: open it by name.
    await visit(page, "tables", KEY);
    await page.type("#open-block", block);
    await waitForText(page, "#open-table option", "notes");
    await page.click("form[aria-label='Open a block'] button[type=submit]");
    await waitForText(page, "#page-summary", "No rows match.");
    expect(await page.evaluate(() => location.hash)).toBe(`#/tables/${encodeURIComponent(block)}/notes`);
    await page.click("button::-p-text(New row)");
    await page.waitForSelector("form[aria-label='Insert a row']", { timeout: 30_000 });
    await page.type("#field-priority", "3");
    await page.click("button::-p-text(Insert row)");
    await waitForText(page, "#field-title-error", problem.errors.title ?? "");
    expect(await page.$eval("#field-title", (el) => el.getAttribute("aria-invalid"))).toBe("true");
    expect(await page.$eval("#field-title", (el) => el.getAttribute("aria-describedby"))).toBe("field-title-error");
    await screenshot(page, "insert-error");

    await page.type("#field-title", "Written in the console");
    await page.click("button::-p-text(Insert row)");
    await waitForText(page, "[role=status]", "Inserted");
    await waitForText(page, "tr[data-id] [data-column=title]", "Written in the console");
    const id = await page.$eval("tr[data-id]", (tr) => tr.getAttribute("data-id") ?? "");
    const stored = await row(block, "notes", id);
    expect(stored).toMatchObject({ title: "Written in the console", priority: 3, done: false });
  });

  it("edits with If-Match: a row changed since the form opened is refused with a clear 412 message", async () => {
    const block = `user:${unique("edit")}`;
    const {
      items: [note],
    } = await seed(block, "notes", [{ title: "first draft", priority: 1 }]);
    if (!note) throw new Error("no row seeded");
    await visit(page, `tables/${encodeURIComponent(block)}/notes`, KEY);
    await page.waitForSelector(`tr[data-id="${note.id}"]`, { timeout: 30_000 });
    await page.click(`button[aria-label="Edit ${note.id}"]`);
    await page.waitForSelector(`form[aria-label="Edit row ${note.id}"]`, { timeout: 30_000 });

    // Another client changes the row after the form was opened.
    const other = await api(`/api/db/${encodeURIComponent(block)}/tables/notes/${note.id}`, {
      method: "PATCH",
      headers: JSON_SERVICE,
      body: JSON.stringify({ title: "changed elsewhere" }),
    });
    expect(other.status).toBe(200);

    await fill(page, "#field-title", "my edit");
    await page.click("button::-p-text(Save changes)");
    await waitForText(page, "#stale-warning", "changed since you opened it");
    await screenshot(page, "edit-conflict");
    expect(await row(block, "notes", note.id)).toMatchObject({ title: "changed elsewhere", version: 2 });

    // Loading the latest version and saving again succeeds.
    await page.click("button::-p-text(Load the latest version)");
    await waitForText(page, "form h2", "version 2");
    expect(await page.$eval("#field-title", (input) => (input as HTMLInputElement).value)).toBe("changed elsewhere");
    await page.type("#field-title", ", then mine");
    await page.click("button::-p-text(Save changes)");
    await waitForText(page, "[role=status]", "(version 3)");
    expect(await row(block, "notes", note.id)).toMatchObject({ title: "changed elsewhere, then mine", version: 3 });
  });

  it("deletes a row only after the confirm step", async () => {
    const block = `user:${unique("del")}`;
    const { items } = await seed(block, "notes", [{ title: "keep me" }, { title: "delete me" }]);
    const [keep, gone] = items;
    if (!keep || !gone) throw new Error("rows not seeded");
    await visit(page, `tables/${encodeURIComponent(block)}/notes`, KEY);
    await page.waitForSelector(`tr[data-id="${gone.id}"]`, { timeout: 30_000 });
    await page.click(`button[aria-label="Delete ${gone.id}"]`);
    await page.waitForSelector(`tr[data-id="${gone.id}"] button.danger`, { timeout: 30_000 });
    expect(await row(block, "notes", gone.id)).not.toBeNull();
    await page.click(`tr[data-id="${gone.id}"] button.danger`);
    await waitForText(page, "[role=status]", `Deleted ${gone.id}`);
    await page.waitForFunction((id: string) => !document.querySelector(`tr[data-id="${id}"]`), { timeout: 30_000 }, gone.id);
    expect(await row(block, "notes", gone.id)).toBeNull();
    expect(await row(block, "notes", keep.id)).not.toBeNull();
    expect(log.dialogs).toEqual([]);
  });

  it("shows a change written by another client in the live tail, with its seq", async () => {
    const block = `user:${unique("tail")}`;
    await seed(block, "notes", [{ title: "before the tail" }]);
    await visit(page, `tail/${encodeURIComponent(block)}`, KEY);
    await page.waitForSelector("#tail-state[data-state=connected]", { timeout: 30_000 }).catch((error: unknown) => {
      // With CORS_ORIGINS set (as in this suite), the realtime route must accept the console's own origin.
      throw new Error(`The live tail's socket did not connect from ${new URL(baseUrl()).origin}.`, { cause: error });
    });
    await page.waitForSelector("#tail-since", { timeout: 30_000 });

    const { items, seq } = await seed(block, "notes", [{ title: "written by another client", priority: 4 }]);
    const id = items[0]?.id ?? "";
    expect(seq).toBeGreaterThan(0);
    await page.waitForSelector(`tr[data-seq="${seq}"]`, { timeout: 30_000 });
    const cells = await page.$$eval(`tr[data-seq="${seq}"] td`, (tds) => tds.map((td) => td.textContent));
    expect(cells.slice(0, 4)).toEqual([String(seq), "insert", "notes", id]);
    expect(cells[4]).toContain("written by another client");

    const update = await api(`/api/db/${encodeURIComponent(block)}/tables/notes/${id}`, {
      method: "PATCH",
      headers: JSON_SERVICE,
      body: JSON.stringify({ done: true }),
    });
    const updateSeq = Number(update.headers.get("X-Seq"));
    await waitForText(page, `tr[data-seq="${updateSeq}"]`, "update");
    // Row values are text here too: markup in a change creates no element and runs nothing.
    const { seq: markupSeq } = await seed(block, "notes", [{ title: "<img src=x onerror=alert(1)>" }]);
    await waitForText(page, `tr[data-seq="${markupSeq}"]`, "<img src=x onerror=alert(1)>");
    expect(await page.$$("img")).toHaveLength(0);
    await screenshot(page, "tail");
    // The row written before the tail opened is not replayed.
    expect(await page.$$eval("tr[data-seq]", (trs) => trs.map((tr) => Number(tr.getAttribute("data-seq"))))).toEqual([
      markupSeq,
      updateSeq,
      seq,
    ]);
    expect(log.dialogs).toEqual([]);
  });

  it("keeps the live tail whole across a dropped connection: the change written meanwhile arrives once", async () => {
    const tab = await openTab(browser);
    try {
      // Keep a handle on every socket the page opens, so the test can drop one as a network would.
      await tab.page.evaluateOnNewDocument(() => {
        const Native = window.WebSocket;
        const opened: WebSocket[] = [];
        Object.assign(window, { openedSockets: opened });
        window.WebSocket = class extends Native {
          constructor(url: string | URL, protocols?: string | string[]) {
            super(url, protocols);
            opened.push(this);
          }
        };
      });
      const block = `user:${unique("drop")}`;
      await seed(block, "notes", [{ title: "before the tail" }]);
      await visit(tab.page, `tail/${encodeURIComponent(block)}`, KEY);
      await tab.page.waitForSelector("#tail-state[data-state=connected]", { timeout: 30_000 });
      await tab.page.waitForSelector("#tail-since", { timeout: 30_000 });
      const first = await seed(block, "notes", [{ title: "first" }]);
      await tab.page.waitForSelector(`tr[data-seq="${first.seq}"]`, { timeout: 30_000 });

      const count = (): Promise<number> =>
        tab.page.evaluate(() => (window as unknown as { openedSockets: WebSocket[] }).openedSockets.length);
      const before = await count();
      await tab.page.evaluate(() => (window as unknown as { openedSockets: WebSocket[] }).openedSockets.at(-1)?.close(4000, "dropped"));
      const missed = await seed(block, "notes", [{ title: "written while the tail was away" }]);
      await tab.page.waitForSelector(`tr[data-seq="${missed.seq}"]`, { timeout: 30_000 });
      expect(await count()).toBeGreaterThan(before); // it came back on a new socket
      const after = await seed(block, "notes", [{ title: "after the reconnect" }]);
      await tab.page.waitForSelector(`tr[data-seq="${after.seq}"]`, { timeout: 30_000 });
      const seqs = await tab.page.$$eval("tr[data-seq]", (trs) => trs.map((tr) => Number(tr.getAttribute("data-seq"))));
      expect(seqs).toEqual([after.seq, missed.seq, first.seq]);
      expect(tab.log.problems).toEqual([]);
    } finally {
      await tab.page.close();
    }
  });

  it("peeks at a rate-limit key, resets it, and the peek shows it cleared", async () => {
    const key = unique("console-key-");
    const inline = { limit: 5, periodMs: 3_600_000, algorithm: "fixed_window" };
    for (let i = 0; i < 3; i++) {
      const response = await api(`/api/ratelimit/${key}`, { method: "POST", headers: JSON_SERVICE, body: JSON.stringify(inline) });
      expect(((await response.json()) as { allowed: boolean }).allowed).toBe(true);
    }
    await visit(page, "rate-limits", KEY);
    await page.type("#rl-key", key);
    await page.select("#rl-policy", "");
    await page.waitForSelector("#rl-limit", { timeout: 30_000 });
    await fill(page, "#rl-limit", "5");
    await fill(page, "#rl-period", "3600000");
    await page.select("#rl-algorithm", "fixed_window");
    await page.click("button::-p-text(Peek)");
    await waitForText(page, "[data-field=remaining]", "2 of 5");
    await screenshot(page, "rate-limits");

    await page.click("button::-p-text(Reset key)");
    await waitForText(page, "[role=status]", `Reset ${key}`);
    await waitForText(page, "[data-field=remaining]", "5 of 5");
    const peek = await api(`/api/ratelimit/${key}?limit=5&periodMs=3600000&algorithm=fixed_window`, { headers: SERVICE_HEADERS });
    expect(((await peek.json()) as { remaining: number }).remaining).toBe(5);
  });

  it("finds an account by email, disables and enables it, and ends its sessions", async () => {
    const email = `${unique("console")}@example.com`;
    const credentials = JSON.stringify({ email, password: "correct horse battery" });
    const signup = await api("/api/auth/signup", { method: "POST", headers: { "Content-Type": "application/json" }, body: credentials });
    expect(signup.status).toBe(201);
    const { user } = (await signup.json()) as { user: { id: string } };
    const signIn = () => api("/api/auth/signin", { method: "POST", headers: { "Content-Type": "application/json" }, body: credentials });
    const account = `tr[data-account="${user.id}"]`;

    await visit(page, "accounts", KEY);
    await page.type("#acct-value", email);
    await page.click("form[aria-label='Find accounts'] button[type=submit]");
    await page.waitForSelector(account, { timeout: 30_000 });
    const shown = await textOf(page, account);
    expect(shown).toContain(email);
    expect(shown).toContain("active");
    expect(shown).not.toContain("never");

    await page.click(`${account} button::-p-text(Disable)`);
    await waitForText(page, "[role=status]", `Disabled ${user.id}`);
    await waitForText(page, account, "disabled");
    await screenshot(page, "accounts");
    expect((await signIn()).status).not.toBe(200);

    await page.click(`${account} button::-p-text(Enable)`);
    await waitForText(page, "[role=status]", `Enabled ${user.id}`);
    const session = await signIn();
    expect(session.status).toBe(200);
    const { refreshToken } = ((await session.json()) as { session: { refreshToken: string } }).session;

    await page.click(`${account} button::-p-text(End sessions)`);
    await waitForText(page, "[role=status]", `Ended 1 session of ${user.id}.`);
    const refreshed = await api("/api/auth/refresh", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refreshToken }),
    });
    expect(refreshed.status).toBe(401);
  });

  it("lists the OpenAPI operations by tag and sends one with the service key", async () => {
    await visit(page, "explorer", KEY);
    await page.waitForSelector("nav[aria-label=Operations] button", { timeout: 30_000 });
    await page.click('nav[aria-label=Operations] button::-p-text("/api/admin/schema")');
    await page.click("button::-p-text(Send with the service key)");
    await page.waitForSelector("#op-answer [data-status='200']", { timeout: 30_000 });
    expect(await textOf(page, "#op-answer pre")).toContain('"namespaces"');
    expect(await textOf(page, "#op-answer dl")).toContain("x-request-id");
    await screenshot(page, "explorer");
  });

  it("keeps working on a link with a malformed escape in its hash", async () => {
    await visit(page, "tables/%E0/notes", KEY);
    expect(await textOf(page, "main")).toContain("%E0");
    expect(log.problems).toEqual([]);
  });

  it("renders a row's HTML as text: no element is created and no script runs", async () => {
    const block = `user:${unique("xss")}`;
    const title = "<img src=x onerror=alert(1)>";
    await seed(block, "notes", [{ title, body: "<script>alert(2)</script>", tags: ["<b>bold</b>"] }]);
    await visit(page, `tables/${encodeURIComponent(block)}/notes`, KEY);
    await waitForText(page, "tr[data-id] [data-column=title]", title);
    expect(await textOf(page, "tr[data-id] [data-column=title]")).toBe(title);
    expect(await textOf(page, "tr[data-id] [data-column=body]")).toBe("<script>alert(2)</script>");
    expect(await textOf(page, "tr[data-id] [data-column=tags]")).toBe('["<b>bold</b>"]');
    // The edit form holds the markup as an input's value, not as markup.
    await page.click("tr[data-id] button[aria-label^=Edit]");
    expect(await page.$eval("#field-title", (input) => (input as HTMLInputElement).value)).toBe(title);
    expect(await page.$$("img, main b, main script")).toHaveLength(0);
    expect(log.dialogs).toEqual([]);
  });

  it("goes back to sign-in, with the error, when a later admin call is refused", async () => {
    const tab = await browser.newPage();
    try {
      await visit(tab, "blocks", KEY);
      // Until the first page of the catalog is shown the view may render again, and a button found
      // before that can be gone by the time it is clicked.
      await tab.waitForFunction(
        () => document.querySelector("tr[data-block]") !== null || document.body.textContent?.includes("No blocks match."),
        { timeout: 30_000 },
      );
      // The server cannot revoke the key mid-run, so the refusal is played by the browser.
      await tab.setRequestInterception(true);
      tab.on("request", (request) => {
        if (request.isInterceptResolutionHandled()) return;
        if (new URL(request.url()).pathname !== "/api/admin/blocks") return void request.continue();
        void request.respond({
          status: 401,
          contentType: "application/problem+json",
          body: JSON.stringify({ status: 401, code: "INVALID_SERVICE_KEY", detail: "The service key changed." }),
        });
      });
      await tab.click("form[aria-label='Search blocks'] button[type=submit]");
      await waitForText(tab, "#signin-error", "INVALID_SERVICE_KEY");
      expect(await tab.$("nav[aria-label=Console]")).toBeNull();
      expect(await tab.$("table")).toBeNull();
      expect(await tab.evaluate(() => sessionStorage.length)).toBe(0);
    } finally {
      await tab.close();
    }
  });

  it("is usable from the keyboard: labelled controls, a visible focus ring, links and buttons", async () => {
    const tab = await browser.newPage();
    try {
      await tab.goto(consoleUrl("schema"));
      await tab.waitForSelector("#service-key", { timeout: 30_000 });
      await tab.keyboard.press("Tab");
      expect(await tab.evaluate(() => document.activeElement?.id)).toBe("service-key");
      await tab.keyboard.type(KEY);
      await tab.keyboard.press("Enter");
      await waitForText(tab, "h1", "Schema");
      await tab.keyboard.press("Tab");
      await tab.keyboard.press("Tab");
      const focused = await tab.evaluate(() => {
        const el = document.activeElement as HTMLElement;
        const style = getComputedStyle(el);
        return {
          text: el.textContent,
          nav: Boolean(el.closest("nav[aria-label=Console]")),
          outline: style.outlineStyle,
          width: style.outlineWidth,
        };
      });
      expect(focused).toMatchObject({ text: "Schema", nav: true, outline: "solid" });
      expect(focused.width).not.toBe("0px");
      await tab.keyboard.down("Shift");
      await tab.keyboard.press("Tab");
      await tab.keyboard.up("Shift");
      await tab.keyboard.press("Enter");
      await waitForText(tab, "h1", "Blocks");

      const block = `user:${unique("keys")}`;
      for (const route of [
        "blocks",
        "schema",
        `tables/${encodeURIComponent(block)}/notes`,
        "tables",
        "rate-limits",
        "accounts",
        "explorer",
      ]) {
        await visit(tab, route, KEY);
        await tab.waitForSelector("main h1", { timeout: 30_000 });
        if (route.startsWith("tables/")) {
          await tab.click("button::-p-text(New row)");
          await tab.waitForSelector("#field-title", { timeout: 30_000 });
        }
        if (route === "explorer") {
          const operation = 'nav[aria-label=Operations] button::-p-text("/tables/notes/{id}")';
          await tab.waitForSelector(operation, { timeout: 30_000 });
          await tab.click(operation);
          await tab.waitForSelector("#op-title", { timeout: 30_000 });
        }
        expect(await unlabelled(tab), route).toEqual([]);
      }
    } finally {
      await tab.close();
    }
  });

  it("refuses a user's JWT on /api/admin/* with 403 and anonymous callers with 401", async () => {
    const jwt = await token(unique("console-user-"));
    for (const path of ["/api/admin/schema", "/api/admin/blocks", "/api/admin/accounts?email=a@example.com"]) {
      expect((await api(path, { headers: { Authorization: `Bearer ${jwt}` } })).status, path).toBe(403);
      expect((await api(path)).status, path).toBe(401);
    }
  });

  it("raised no CSP violation, script error or dialog during the run", () => {
    expect(log.problems).toEqual([]);
    expect(log.dialogs).toEqual([]);
  });
});
