// Drives the console in a real headless Chromium (Debian's /usr/bin/chromium) with puppeteer-core.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { baseUrl } from "../helpers";

/** Where the run's screenshots go (one per console page). */
export const SCREENSHOT_DIR = join(process.cwd(), "test-results", "console");

/** What the page did that a test must see: dialogs (alert, confirm) and CSP violations or script errors. */
export interface PageLog {
  dialogs: string[];
  problems: string[];
}

/** Launches headless Chromium; we run as root, hence no sandbox. */
export function launch(): Promise<Browser> {
  return puppeteer.launch({ executablePath: "/usr/bin/chromium", headless: true, args: ["--no-sandbox"] });
}

/** A fresh tab that records dialogs (dismissing them) and CSP violations and page errors. */
export async function openTab(browser: Browser): Promise<{ page: Page; log: PageLog }> {
  const page = await browser.newPage();
  const log: PageLog = { dialogs: [], problems: [] };
  await page.setViewport({ width: 1280, height: 860 });
  page.on("dialog", (dialog) => {
    log.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    void dialog.dismiss();
  });
  page.on("pageerror", (error) => log.problems.push(`page error: ${error instanceof Error ? error.message : String(error)}`));
  page.on("console", (message) => {
    if (/Content[- ]Security[- ]Policy/i.test(message.text())) log.problems.push(`csp: ${message.text()}`);
  });
  return { page, log };
}

/** The console's URL for a hash route (`blocks`, `tables/user:a/notes`). */
export function consoleUrl(route = ""): string {
  return `${baseUrl()}/console${route ? `#/${route}` : ""}`;
}

/** Waits until the element matching `selector` contains `text` (generous timeout for slow machines). */
export async function waitForText(page: Page, selector: string, text: string, timeout = 30_000): Promise<void> {
  await page.waitForFunction(
    (sel: string, want: string) => Array.from(document.querySelectorAll(sel)).some((el) => el.textContent?.includes(want)),
    { timeout },
    selector,
    text,
  );
}

/** The text content of the first element matching `selector` ("" when none). */
export function textOf(page: Page, selector: string): Promise<string> {
  return page.evaluate((sel: string) => document.querySelector(sel)?.textContent ?? "", selector);
}

/** Replaces what an input or textarea holds the way a user does: select all, delete, type. */
export async function fill(page: Page, selector: string, value: string): Promise<void> {
  await page.waitForSelector(selector, { timeout: 30_000 });
  await page.$eval(selector, (input) => {
    (input as HTMLInputElement).focus();
    (input as HTMLInputElement).select();
  });
  await page.keyboard.press("Backspace");
  if (value) await page.type(selector, value);
}

/** Types into the sign-in form and submits it. */
export async function submitKey(page: Page, key: string): Promise<void> {
  await fill(page, "#service-key", key);
  await page.click("form[aria-label='Sign in'] button[type=submit]");
}

/**
 * Loads the console at `route` from scratch (a full page load) and signs in with `key` unless the
 * tab's session already holds a working key; resolves once the page's navigation is shown.
 */
export async function visit(page: Page, route: string, key: string): Promise<void> {
  await page.goto("about:blank");
  await page.goto(consoleUrl(route), { waitUntil: "domcontentloaded" });
  await page.waitForSelector("nav[aria-label=Console], #service-key", { timeout: 30_000 }).catch(async (error: unknown) => {
    throw new Error(`The console did not show at ${route}; the page reads: ${(await textOf(page, "body")).slice(0, 300)}`, {
      cause: error,
    });
  });
  if (await page.$("#service-key")) {
    await submitKey(page, key);
    await page.waitForSelector("nav[aria-label=Console]", { timeout: 30_000 });
  }
}

/** Saves a screenshot of the whole page as test-results/console/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`) as `${string}.png`, fullPage: true });
}

/** Polls `check` until it answers something truthy (for state the server reaches asynchronously). */
export async function until<T>(check: () => Promise<T | null | undefined | false>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Form controls on the page without a label (`<label for>` or aria-label): each answered as its id or name. */
export function unlabelled(page: Page): Promise<string[]> {
  return page.$$eval("input, select, textarea", (controls) =>
    controls
      .filter(
        (control) =>
          !control.getAttribute("aria-label") && !(control.id && document.querySelector(`label[for="${CSS.escape(control.id)}"]`)),
      )
      .map((control) => control.id || control.getAttribute("name") || control.outerHTML.slice(0, 60)),
  );
}
