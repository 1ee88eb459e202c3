// Prepares what `npm start` serves: the Worker bundled exactly as `wrangler deploy` bundles it and a
// workerd config rendered from wrangler.toml, the one source of truth for name, compatibility date and
// flags, vars and actors. Run as its own process by workerd-server.mjs, so the long-lived server
// process never loads wrangler (which also installs its own signal handlers).
//   echo '{"config":...,"outdir":...,"actorDir":...,"address":...,"vars":{...}}' | node scripts/workerd-config.mjs
// writes <outdir>/config.capnp and the bundle, and prints { values, sources } of the resolved vars.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { unstable_readConfig } from "wrangler";
import { SECRET_NAMES, devVars } from "./dev-vars.mjs";

/** The parts of a wrangler config the server needs. */
export function readProject(configPath) {
  const config = unstable_readConfig({ config: configPath }, { hideWarnings: true });
  const sqlite = new Set(config.migrations.flatMap((m) => m.new_sqlite_classes ?? []));
  const actors = config.durable_objects.bindings.map((b) => {
    if (b.script_name) throw new Error(`${configPath}: durable object ${b.name} lives in another Worker; npm start serves one Worker`);
    return { binding: b.name, className: b.class_name, sql: sqlite.has(b.class_name) };
  });
  for (const [name, value] of Object.entries(config.vars)) {
    if (typeof value !== "string") throw new Error(`${configPath}: var ${name} is not a string; npm start passes vars as text`);
  }
  return {
    name: config.name,
    dir: dirname(resolve(configPath)),
    compatibilityDate: config.compatibility_date,
    compatibilityFlags: config.compatibility_flags,
    vars: config.vars,
    actors,
  };
}

/** Bundles the Worker of `configPath` into `outdir` with `wrangler deploy --dry-run`; returns the module's file name. */
export function bundleWorker(configPath, outdir) {
  const result = spawnSync("npx", ["wrangler", "deploy", "--dry-run", "--config", configPath, "--outdir", outdir], {
    cwd: dirname(resolve(configPath)),
    encoding: "utf8",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" },
  });
  if (result.status !== 0) throw new Error(`bundling ${configPath} failed:\n${result.stdout}\n${result.stderr}`);
  // The bundle is named after `main` (workers/index.ts gives index.js), beside its source map.
  const modules = readdirSync(outdir).filter((file) => file.endsWith(".js"));
  if (modules.length !== 1) throw new Error(`expected one bundled module in ${outdir}, found ${modules.join(", ") || "none"}`);
  return modules[0];
}

/** A capnp text string literal. Values rendered here are names and paths, never secrets. */
function text(value) {
  if (/[\0-\x1f"\\]/.test(value)) throw new Error(`cannot render ${JSON.stringify(value)} into the workerd config`);
  return `"${value}"`;
}

/**
 * The pinned workerd caps all SQLite memory of the process at 512 MiB unless this gate raises it to
 * 8 GiB: with thousands of actors live, each one's page cache and schema add up, and past the cap
 * opening one more answers SQLITE_NOMEM (docs/operations.md, "Live actors").
 */
const AUTOGATES = ["workerd-autogate-increase-sqlite-hard-heap-limit"];

/**
 * The workerd config (capnp text) for `project`, its bundle `module` beside the config file, actors
 * stored under `actorDir` (one subdirectory per class, named `<worker>-<Class>` like `wrangler dev
 * --persist-to`, so both servers share state), listening on `address`. Each var or secret in
 * `names` is read from workerd's environment, so no secret is written to disk.
 */
export function renderConfig({ project, module, actorDir, address, names }) {
  const bindings = [
    ...names.map((name) => `(name = ${text(name)}, fromEnvironment = ${text(name)})`),
    ...project.actors.map((a) => `(name = ${text(a.binding)}, durableObjectNamespace = (className = ${text(a.className)}))`),
  ];
  const namespaces = project.actors.map(
    (a) => `(className = ${text(a.className)}, uniqueKey = ${text(`${project.name}-${a.className}`)}, enableSql = ${a.sql})`,
  );
  return `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "actors", disk = (path = ${text(actorDir)}, writable = true)),
    # The Worker's fetch(): besides the internet, addresses on this machine and its private network
    # (an operator's own OpenID provider or mail webhook), as wrangler dev allows.
    (name = "internet", network = (allow = ["public", "private"], tlsOptions = (trustBrowserCas = true))),
  ],
  sockets = [(name = "http", address = ${text(address)}, http = (), service = "main")],
  autogates = [${AUTOGATES.map(text).join(", ")}],
);

const worker :Workerd.Worker = (
  modules = [(name = ${text(module)}, esModule = embed ${text(module)})],
  compatibilityDate = ${text(project.compatibilityDate)},
  compatibilityFlags = [${project.compatibilityFlags.map(text).join(", ")}],
  bindings = [
    ${bindings.join(",\n    ")}
  ],
  durableObjectNamespaces = [
    ${namespaces.join(",\n    ")}
  ],
  durableObjectStorage = (localDisk = "actors"),
);
`;
}

/**
 * The vars and secrets the Worker runs with, highest first: `overrides`, the process environment,
 * `.dev.vars` (else `.dev.vars.example`) beside the config, then wrangler.toml's [vars]. Only names
 * wrangler.toml, SECRET_NAMES or a vars file declares are taken from the environment, and an OAuth
 * provider's `OAUTH_<NAME>_CLIENT_ID`, `_CLIENT_SECRET` and `_ISSUER`. Unset names are left out.
 */
export function resolveVars(project, overrides = {}, environment = process.env) {
  const file = devVars(project.dir);
  const names = new Set([
    ...Object.keys(project.vars),
    ...SECRET_NAMES,
    ...Object.keys(file.vars),
    ...Object.keys(overrides),
    ...Object.keys(environment).filter((name) => OAUTH_VAR.test(name)),
  ]);
  const values = {};
  const sources = {};
  for (const name of names) {
    const [value, source] =
      overrides[name] !== undefined
        ? [overrides[name], "options"]
        : environment[name] !== undefined
          ? [environment[name], "environment"]
          : file.vars[name] !== undefined && file.vars[name] !== ""
            ? [file.vars[name], file.path ? basename(file.path) : "vars file"]
            : [project.vars[name], "wrangler.toml"];
    if (value === undefined || (value === "" && !(name in project.vars))) continue;
    values[name] = String(value);
    sources[name] = source;
  }
  return { values, sources };
}

/** The per-provider OAuth settings (docs/auth.md). */
const OAUTH_VAR = /^OAUTH_[A-Z0-9_]+_(CLIENT_ID|CLIENT_SECRET|ISSUER)$/;

/** The command line entry: bundles, renders the config and prints the resolved vars as JSON. */
function main() {
  const { config, outdir, actorDir, address, vars: overrides } = JSON.parse(readFileSync(0, "utf8"));
  const project = readProject(config);
  const module = bundleWorker(config, outdir);
  mkdirSync(actorDir, { recursive: true });
  const vars = resolveVars(project, overrides);
  writeFileSync(join(outdir, "config.capnp"), renderConfig({ project, module, actorDir, address, names: Object.keys(vars.values) }));
  process.stdout.write(JSON.stringify(vars));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    main();
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  }
}
