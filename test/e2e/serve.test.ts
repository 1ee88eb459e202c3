/**
 * `npm start` as a process, the way users and the Docker image run it: a drain on SIGTERM and SIGINT
 * (requests in flight finish, new connections are refused, exit 0), secrets from the environment
 * only, and the image's own files (what the Dockerfile copies, nothing else) serving and restarting
 * on the same data. The suite's other files run against this server through startServer.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
// @ts-expect-error plain ESM script without type declarations
import { ROOT, freePort, startServer } from "../../scripts/server.mjs";
// @ts-expect-error plain ESM script without type declarations
import { readProject, resolveVars } from "../../scripts/workerd-config.mjs";
// @ts-expect-error plain ESM script without type declarations
import { SECRET_NAMES, parseVars } from "../../scripts/dev-vars.mjs";
import { E2E_VARS } from "./secrets";

interface Started {
  url: string;
  child: ChildProcess;
  output: () => string;
}

const SERVICE = { Authorization: `Bearer ${E2E_VARS.SERVICE_KEY}`, "Content-Type": "application/json" };
const dirs: string[] = [];
const children: ChildProcess[] = [];

afterAll(async () => {
  // SIGTERM, not SIGKILL: npm start then stops its workerd too (a killed start script would leave it running).
  const running = children.filter((child) => child.exitCode === null && child.signalCode === null);
  for (const child of running) child.kill("SIGTERM");
  await Promise.all(running.map((child) => Promise.race([once(child, "exit"), new Promise((r) => setTimeout(r, 15_000))])));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

/** Runs `command` in `cwd` with `env` (and no inherited secrets) until /api/health answers and the banner is out. */
async function launch(cwd: string, command: string[], env: Record<string, string>): Promise<Started> {
  const port = String(await freePort());
  const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !(name in E2E_VARS)));
  const [program = "node", ...args] = command;
  const child = spawn(program, args, { cwd, env: { ...clean, ...env, PORT: env.PORT ?? port }, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let log = "";
  child.stdout?.on("data", (chunk) => (log += chunk));
  child.stderr?.on("data", (chunk) => (log += chunk));
  const url = `http://127.0.0.1:${env.PORT ?? port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}:\n${log}`);
    if (Date.now() > deadline) throw new Error(`the server did not answer within 60 s:\n${log}`);
    const ok = await fetch(`${url}/api/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok && log.includes("Secrets:")) return { url, child, output: () => log };
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Inserts a task into `block` on the server at `url` and answers its id. */
async function insertTask(url: string, block: string, title: string): Promise<string> {
  const created = await fetch(`${url}/api/db/${block}/tables/tasks`, { method: "POST", headers: SERVICE, body: JSON.stringify({ title }) });
  expect(created.status).toBe(201);
  return ((await created.json()) as { id: string }).id;
}

/** A POST whose ~600 KB body trickles in over about a second, so it is in flight when a signal lands. */
function slowInsert(url: string, block: string): Promise<Response> {
  const chunk = new TextEncoder().encode("y".repeat(60_000));
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (sent === 0) controller.enqueue(new TextEncoder().encode('{"title":"slow","assignee":"'));
      if (sent === 10) {
        controller.enqueue(new TextEncoder().encode('"}'));
        controller.close();
        return;
      }
      await new Promise((r) => setTimeout(r, 100));
      controller.enqueue(chunk);
      sent++;
    },
  });
  return fetch(`${url}/api/db/${block}/tables/tasks`, { method: "POST", headers: SERVICE, body, duplex: "half" } as RequestInit);
}

describe("npm start's vars", () => {
  it("knows every secret .dev.vars.example declares", () => {
    const example = parseVars(readFileSync(resolve(ROOT, ".dev.vars.example"), "utf8")) as Record<string, string>;
    expect([...SECRET_NAMES].sort()).toEqual(Object.keys(example).sort());
  });

  it("takes the environment over the vars file over wrangler.toml, and only names it knows", () => {
    const project = readProject(resolve(ROOT, "wrangler.toml"));
    const { values, sources } = resolveVars(project, { LOG_SLOW_MS: "5" }, { LOG_REQUESTS: "all", SERVICE_KEY: "from-env", PATH: "/bin" });
    expect(values.LOG_SLOW_MS).toBe("5");
    expect(sources.LOG_REQUESTS).toBe("environment");
    expect(values.LOG_REQUESTS).toBe("all");
    expect(values.SERVICE_KEY).toBe("from-env");
    expect(values.LOG_SAMPLE_RATE).toBe("0.01");
    expect(sources.LOG_SAMPLE_RATE).toBe("wrangler.toml");
    expect(sources.JWT_SECRET).toMatch(/^\.dev\.vars/);
    expect(values).not.toHaveProperty("PATH");
    expect(values).not.toHaveProperty("JWT_JWKS"); // empty in the vars file: left unset
  });
});

describe.skipIf(process.env.ACTORBASE_SERVER === "wrangler")("npm start (workerd directly)", () => {
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    it(`drains on ${signal}: the request in flight finishes, new connections are refused, exit 0`, async () => {
      const data = tempDir("actorbase-serve-");
      const server = await launch(ROOT, ["node", "scripts/start.mjs"], { ...E2E_VARS, ACTORBASE_DATA: data });
      const inFlight = slowInsert(server.url, "workspace:drain");
      await new Promise((r) => setTimeout(r, 300));
      const exited = once(server.child, "exit");
      server.child.kill(signal);
      await new Promise((r) => setTimeout(r, 200));
      await expect(fetch(`${server.url}/api/health`)).rejects.toThrow();
      const response = await inFlight;
      expect(response.status).toBe(201);
      expect(((await response.json()) as { title: string }).title).toBe("slow");
      const [code] = await exited;
      expect(code).toBe(0);
      expect(server.output()).toContain(`${signal}: draining`);
    });
  }

  it("restarts workerd on the same data when it dies on its own (as it does when out of open files)", async () => {
    const data = tempDir("actorbase-supervise-");
    const server = await launch(ROOT, ["node", "scripts/start.mjs"], { ...E2E_VARS, ACTORBASE_DATA: data });
    const id = await insertTask(server.url, "workspace:supervised", "before the crash");
    const [workerdPid] = readFileSync(`/proc/${server.child.pid}/task/${server.child.pid}/children`, "utf8").trim().split(" ").map(Number);
    process.kill(workerdPid as number, "SIGKILL");
    let read: Response | null = null;
    for (let i = 0; i < 300 && read?.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 100));
      read = await fetch(`${server.url}/api/db/workspace:supervised/tables/tasks/${id}`, { headers: SERVICE }).catch(() => null);
    }
    expect(read?.status).toBe(200);
    expect(server.output()).toContain("restarting on the same data");
    expect(server.child.exitCode).toBeNull();
  });

  it("runs from exactly what the Dockerfile copies, with secrets from the environment, and restarts on the same data", async () => {
    const dockerfile = readFileSync(resolve(ROOT, "Dockerfile"), "utf8");
    const image = tempDir("actorbase-image-");
    for (const [, sources] of dockerfile.matchAll(/^COPY (?:--chown=\S+ )?(.+) \S+$/gm)) {
      for (const source of (sources ?? "").split(" ")) cpSync(resolve(ROOT, source), join(image, source), { recursive: true });
    }
    expect(existsSync(join(image, ".dev.vars"))).toBe(false);
    expect(existsSync(join(image, ".dev.vars.example"))).toBe(false);
    symlinkSync(resolve(ROOT, "node_modules"), join(image, "node_modules"), "dir"); // stands in for `RUN npm ci`
    const env: Record<string, string> = {};
    for (const [, pairs] of dockerfile.matchAll(/^ENV (.+)$/gm)) {
      for (const pair of (pairs ?? "").split(" ")) {
        const [name = "", value = ""] = pair.split("=");
        env[name] = value;
      }
    }
    const cmd = JSON.parse(/^CMD (.+)$/m.exec(dockerfile)?.[1] ?? "[]") as string[];
    expect(env.HOST).toBe("0.0.0.0");
    const data = tempDir("actorbase-image-data-");
    const secrets = { JWT_SECRET: E2E_VARS.JWT_SECRET, SERVICE_KEY: E2E_VARS.SERVICE_KEY };

    const first = await launch(image, cmd, { ...env, ...secrets, ACTORBASE_DATA: data, PORT: String(await freePort()) });
    expect(first.output()).toContain("SERVICE_KEY from environment");
    const id = await insertTask(first.url, "workspace:image", "kept");
    first.child.kill("SIGTERM");
    expect((await once(first.child, "exit"))[0]).toBe(0);

    const second = await launch(image, cmd, { ...env, ...secrets, ACTORBASE_DATA: data, PORT: String(await freePort()) });
    const read = await fetch(`${second.url}/api/db/workspace:image/tables/tasks/${id}`, { headers: SERVICE });
    expect(read.status).toBe(200);
    expect(((await read.json()) as { title: string }).title).toBe("kept");
    const anonymous = await fetch(`${second.url}/api/db/workspace:image/tables/tasks`, { headers: { Authorization: "Bearer wrong" } });
    expect(anonymous.status).toBe(401);
    second.child.kill("SIGTERM");
    await once(second.child, "exit");
  });

  it("shares its state directory with `npm run dev` (wrangler dev)", async () => {
    const data = tempDir("actorbase-shared-");
    const workerd = await startServer({ server: "workerd", persistTo: data, vars: E2E_VARS });
    const id = await insertTask(workerd.url, "workspace:shared", "written by npm start");
    await workerd.stop();
    const wrangler = await startServer({ server: "wrangler", persistTo: data, vars: E2E_VARS });
    try {
      const read = await fetch(`${wrangler.url}/api/db/workspace:shared/tables/tasks/${id}`, { headers: SERVICE });
      expect(read.status).toBe(200);
      expect(((await read.json()) as { title: string }).title).toBe("written by npm start");
    } finally {
      await wrangler.stop();
    }
  });
});
