/**
 * `@actorbase/client` as a user gets it: built, packed, installed into a scratch project from the
 * tarball, compiled by a strict tsc against the app's config, and run with node against the real server.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { baseUrl, token, unique } from "./helpers";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const TSC = join(ROOT, "node_modules", "typescript", "bin", "tsc");

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion; never throws, the caller asserts on the exit code and output. */
function run(command: string, args: string[], cwd: string): Promise<Ran> {
  // npm run by npx/vitest leaves npm_config_* in the environment; the scratch project's npm must not inherit them.
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith("npm_")));
  return new Promise((done) => {
    execFile(command, args, { cwd, env, timeout: 90_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
      done({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

/** A strict tsconfig for one file: `Bundler` resolution (as a web app's build uses) or `NodeNext`. */
function tsconfig(file: string, resolution: "Bundler" | "NodeNext", emit: boolean): string {
  return JSON.stringify({
    compilerOptions: {
      strict: true,
      exactOptionalPropertyTypes: true,
      noUncheckedIndexedAccess: true,
      target: "ES2022",
      lib: ["ES2022"],
      module: resolution === "Bundler" ? "ESNext" : "NodeNext",
      moduleResolution: resolution,
      types: ["node"],
      typeRoots: [join(ROOT, "node_modules", "@types")],
      skipLibCheck: false,
      ...(emit ? { outDir: "out" } : { noEmit: true }),
    },
    files: [file],
  });
}

/** The user's program: a typed client of the demo app's `notes` table. */
const PROGRAM = `
import { createClient } from "@actorbase/client";
import type config from ${JSON.stringify(join(ROOT, "actorbase.config"))};

const [url, token, sub, wsPath] = process.argv.slice(2) as [string, string, string, string];
const { default: WebSocket } = (await import(wsPath)) as { default: unknown };
const client = createClient<typeof config>({ url, token, WebSocket });
const notes = client.db(\`user:\${sub}\`).table("notes");

const changes: string[] = [];
await notes.subscribe("", (change) => changes.push(\`\${change.op}:\${change.row.title}:\${change.row.done}\`)).ready;

const first = await notes.insert({ title: "Plan", priority: 2, tags: ["a"] });
await notes.insert([{ title: "Shop" }, { title: "Read", priority: 5 }]);
const page = await notes.list({ order: "priority.desc" });
const updated = await notes.updateWhere("priority=gte.2", { done: true, priority: { $inc: 1 } });
const deadline = Date.now() + 10_000;
while (changes.length < 5 && Date.now() < deadline) await new Promise((wake) => setTimeout(wake, 25));

const title: string = first.title;
const priorities: (number | null)[] = updated.items.map((note) => note.priority);
console.log(JSON.stringify({ title, version: first.version, listed: page.items.map((note) => note.title), count: updated.count, priorities, changes }));
client.close();
`;

let dir = "";

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "actorbase-client-package-"));
  const build = await run(process.execPath, [join(ROOT, "scripts", "build-client.mjs")], ROOT);
  expect(build.stderr + build.stdout, "the build").toContain("client/dist:");
  expect(build.code).toBe(0);
  mkdirSync(join(dir, "pack"));
  const pack = await run("npm", ["pack", "--ignore-scripts", "--pack-destination", join(dir, "pack")], join(ROOT, "client"));
  expect(pack.code, pack.stderr).toBe(0);
  const [tarball] = readdirSync(join(dir, "pack"));
  expect(tarball).toMatch(/^actorbase-client-.*\.tgz$/);
  mkdirSync(join(dir, "app"));
  writeFileSync(
    join(dir, "app", "package.json"),
    JSON.stringify({ name: "scratch", private: true, type: "module", dependencies: { "@actorbase/client": `file:../pack/${tarball}` } }),
  );
  const install = await run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline"], join(dir, "app"));
  expect(install.code, install.stderr).toBe(0);
}, 120_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("@actorbase/client package", () => {
  it("installs from its tarball, compiles strictly with types from the config and works against the server", async () => {
    const app = join(dir, "app");
    writeFileSync(join(app, "main.ts"), PROGRAM);
    writeFileSync(join(app, "tsconfig.json"), tsconfig("main.ts", "Bundler", true));
    // The program imports the config's type from the repository, so tsc's output mirrors both trees: ask where main.js went.
    const compiled = await run(process.execPath, [TSC, "-p", "tsconfig.json", "--listEmittedFiles"], app);
    expect(compiled.code, compiled.stdout).toBe(0);
    const emitted = compiled.stdout.split("\n").find((line) => line.endsWith("/main.js"));
    expect(emitted).toBeDefined();

    const sub = unique("pkg");
    const ws = join(ROOT, "node_modules", "ws", "index.js");
    const ran = await run(process.execPath, [emitted!.replace(/^TSFILE: /, ""), baseUrl(), await token(sub), sub, ws], app);
    expect(ran.code, ran.stderr).toBe(0);
    const output = JSON.parse(ran.stdout.trim().split("\n").at(-1)!);
    expect(output).toMatchObject({ title: "Plan", version: 1, listed: ["Read", "Plan", "Shop"], count: 2 });
    expect([...output.priorities].sort()).toEqual([3, 6]);
    expect([...output.changes].sort()).toEqual([
      "insert:Plan:false",
      "insert:Read:false",
      "insert:Shop:false",
      "update:Plan:true",
      "update:Read:true",
    ]);
  });

  it("refuses a column typo at compile time", async () => {
    const app = join(dir, "app");
    writeFileSync(join(app, "typo.ts"), PROGRAM.replace('{ title: "Plan", priority: 2', '{ titel: "Plan", priority: 2'));
    writeFileSync(join(app, "tsconfig.typo.json"), tsconfig("typo.ts", "Bundler", false));
    const compiled = await run(process.execPath, [TSC, "-p", "tsconfig.typo.json"], app);
    expect(compiled.code).not.toBe(0);
    expect(compiled.stdout).toContain("typo.ts");
    expect(compiled.stdout).toContain("'titel' does not exist");
    expect(compiled.stdout).not.toContain("Cannot find module");
  });

  it("resolves its declarations under NodeNext, untyped code included", async () => {
    const app = join(dir, "app");
    writeFileSync(
      join(app, "untyped.ts"),
      [
        'import { ActorbaseError, type TableChange, createClient } from "@actorbase/client";',
        "interface Note { title: string; priority?: number }",
        'const notes = createClient({ url: "http://127.0.0.1:1", token: "t" }).db("user:alice").table<Note>("notes");',
        'export const insert = (): Promise<string> => notes.insert({ title: "x" }).then((row) => row.id);',
        'notes.subscribe("", (change: TableChange<Note>) => console.log(change.row.title));',
        "export const isProblem = (error: unknown): boolean => error instanceof ActorbaseError && error.status === 422;",
        "// @ts-expect-error the row type still checks",
        "notes.insert({ title: 1 });",
      ].join("\n"),
    );
    writeFileSync(join(app, "tsconfig.node.json"), tsconfig("untyped.ts", "NodeNext", false));
    const compiled = await run(process.execPath, [TSC, "-p", "tsconfig.node.json"], app);
    expect(compiled.stdout).toBe("");
    expect(compiled.code).toBe(0);
  });
});
