#!/usr/bin/env node
// Builds the `@actorbase/client` package in client/dist/ (docs/client.md, "Install"):
//   index.js (+ .map)   client/index.ts bundled by esbuild: ESM, es2022, readable, partysocket left external
//   client/*.d.ts       declarations from `tsc -p client/tsconfig.build.json`, with the shared/ modules
//   shared/*.d.ts       they import beside them, so every import resolves inside the package
// Then `cd client && npm pack` makes the tarball.
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import ts from "typescript";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const CLIENT = join(ROOT, "client");
const OUT = join(CLIENT, "dist");

/** The package must ship as the version it was built from, with the partysocket range the client was tested with. */
function checkManifest() {
  const root = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
  const client = JSON.parse(readFileSync(join(CLIENT, "package.json"), "utf8"));
  if (client.version !== root.version) throw new Error(`client/package.json version ${client.version} is not the root's ${root.version}`);
  if (client.dependencies?.partysocket !== root.dependencies.partysocket)
    throw new Error(`client/package.json wants partysocket ${client.dependencies?.partysocket}, the root ${root.dependencies.partysocket}`);
}

/** Bundles the client and emits its declarations; answers the files written, relative to client/dist. */
export async function buildClient() {
  checkManifest();
  rmSync(OUT, { recursive: true, force: true });
  await build({
    entryPoints: [join(CLIENT, "index.ts")],
    outfile: join(OUT, "index.js"),
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    external: ["partysocket", "partysocket/*"],
    sourcemap: true,
    legalComments: "inline",
    logLevel: "warning",
  });
  execFileSync(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", join(CLIENT, "tsconfig.build.json")], {
    stdio: "inherit",
  });
  flattenProtocolSchema();
  for (const file of declarationFiles(OUT)) writeFileSync(file, withJsExtensions(readFileSync(file, "utf8")));
  return declarationFiles(OUT)
    .map((file) => file.slice(OUT.length + 1))
    .concat(["index.js", "index.js.map"]);
}

/**
 * shared/protocol-schema.ts derives the client messages from valibot schemas, so its emitted
 * declarations import valibot, which the package does not depend on. The client only needs the
 * message types: write them out as plain object types and drop the schema declarations.
 */
function flattenProtocolSchema() {
  const source = join(ROOT, "shared", "protocol-schema.ts");
  const program = ts.createProgram([source], { strict: true, exactOptionalPropertyTypes: true, noEmit: true, skipLibCheck: true });
  const checker = program.getTypeChecker();
  const file = program.getSourceFile(source);
  const lines = ["// Written by scripts/build-client.mjs from shared/protocol-schema.ts: the message types without the valibot schemas."];
  const printer = ts.createPrinter();
  for (const statement of file.statements) {
    if (!ts.isTypeAliasDeclaration(statement)) continue;
    // ClientMessage is the valibot-derived union; the others are Extract<ClientMessage, ...> and stay as written.
    const flags = ts.NodeBuilderFlags.NoTruncation | ts.NodeBuilderFlags.InTypeAlias;
    const node = checker.typeToTypeNode(checker.getTypeAtLocation(statement.name), statement, flags);
    const text =
      statement.name.text === "ClientMessage" && node
        ? printer.printNode(ts.EmitHint.Unspecified, node, file)
        : statement.type.getText(file);
    lines.push(`export type ${statement.name.text} = ${text};`);
  }
  writeFileSync(join(OUT, "shared", "protocol-schema.d.ts"), `${lines.join("\n")}\n`);
  rmSync(join(OUT, "shared", "wire-shape.d.ts"), { force: true });
}

/** Adds `.js` to relative imports: `moduleResolution: "NodeNext"` consumers resolve nothing without it. */
function withJsExtensions(text) {
  return text.replace(/((?:from|import)\s*\(?\s*["'])(\.{1,2}\/[^"']+?)(["'])/g, (match, before, path, after) =>
    /\.(?:js|json)$/.test(path) ? match : `${before}${path}.js${after}`,
  );
}

function declarationFiles(dir) {
  return readdirSync(dir, { recursive: true })
    .filter((name) => name.endsWith(".d.ts"))
    .map((name) => join(dir, name))
    .sort();
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const files = await buildClient();
  for (const wire of declarationFiles(OUT)) {
    if (/from ["']valibot["']/.test(readFileSync(wire, "utf8"))) throw new Error(`${wire} still imports valibot`);
  }
  console.log(`client/dist: ${files.length} files`);
}
