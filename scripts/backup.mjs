#!/usr/bin/env node
// npm run backup -- --url <server> --out <dir> [<block>...]  exports each block to <dir>/<block>.ndjson;
//   without blocks, every block in the server's catalog (GET /api/admin/blocks; --namespace <ns> for one)
// npm run restore -- --url <server> <file>...               imports each file into the block its header names
// Service key from --key or SERVICE_KEY. Exports stream to disk; one whose block changed mid-stream (no end line)
// is retried. The catalog hears of a new block within seconds of its first request.
import { closeSync, createReadStream, createWriteStream, mkdirSync, openSync, readSync, renameSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { parseArgs } from "node:util";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    url: { type: "string" },
    out: { type: "string" },
    key: { type: "string" },
    namespace: { type: "string" },
    restore: { type: "boolean" },
  },
});
const restore = values.restore === true;
const key = values.key ?? process.env.SERVICE_KEY;
const usage = restore
  ? "usage: npm run restore -- --url <server> [--key <service key>] <file.ndjson>..."
  : "usage: npm run backup -- --url <server> --out <dir> [--key <service key>] [--namespace <ns>] [<block>...]";
if (!values.url || (!restore && !values.out) || (restore && positionals.length === 0) || !key) {
  console.error(`${usage}\n(the service key comes from --key or SERVICE_KEY)`);
  process.exit(2);
}
const base = values.url.replace(/\/+$/, "");
const auth = { Authorization: `Bearer ${key}` };

/** The last line of a file, read from its end. */
function lastLine(path) {
  const size = statSync(path).size;
  const length = Math.min(size, 4096);
  const buffer = Buffer.alloc(length);
  const fd = openSync(path, "r");
  readSync(fd, buffer, 0, length, size - length);
  closeSync(fd);
  return buffer.toString("utf8").trimEnd().split("\n").at(-1) ?? "";
}

async function backup(block) {
  const file = join(values.out, `${block}.ndjson`);
  const partial = `${file}.partial`; // a failed attempt never replaces the last good backup
  for (let attempt = 1; attempt <= 3; attempt++) {
    const response = await fetch(`${base}/api/admin/blocks/${encodeURIComponent(block)}/export`, { headers: auth });
    if (!response.ok) throw new Error(`${block}: ${response.status} ${await response.text()}`);
    try {
      await pipeline(Readable.fromWeb(response.body), createWriteStream(partial));
    } catch {
      // the stream broke off: the end-line check below retries it
    }
    const end = (() => {
      try {
        return JSON.parse(lastLine(partial));
      } catch {
        return null;
      }
    })();
    if (end?.end === true) {
      renameSync(partial, file);
      return { block, file, rows: end.rows };
    }
    console.error(`${block}: the export ended early (the block changed while it streamed); attempt ${attempt} of 3`);
  }
  rmSync(partial, { force: true });
  throw new Error(`${block}: no complete export after 3 attempts; try again when it is quieter`);
}

async function restoreFile(file) {
  const header = JSON.parse(firstLine(file));
  const response = await fetch(`${base}/api/admin/blocks/${encodeURIComponent(header.block)}/import`, {
    method: "POST",
    headers: { ...auth, "Content-Type": "application/x-ndjson" },
    body: Readable.toWeb(createReadStream(file)),
    duplex: "half",
  });
  const body = await response.json();
  if (!response.ok) throw new Error(`${file} -> ${header.block}: ${response.status} ${body.detail ?? JSON.stringify(body)}`);
  return { block: header.block, file, rows: body.rows };
}

/** The first line of a file (an export's header). */
function firstLine(path) {
  const buffer = Buffer.alloc(1024 * 1024);
  const fd = openSync(path, "r");
  const read = readSync(fd, buffer, 0, buffer.length, 0);
  closeSync(fd);
  return buffer.subarray(0, read).toString("utf8").split("\n")[0];
}

/** Every block the server's catalog lists (one namespace with --namespace), page by page. */
async function catalogBlocks() {
  const names = [];
  let cursor = "";
  do {
    const query = new URLSearchParams({
      limit: "1000",
      ...(values.namespace ? { namespace: values.namespace } : {}),
      ...(cursor ? { cursor } : {}),
    });
    const response = await fetch(`${base}/api/admin/blocks?${query}`, { headers: auth });
    if (!response.ok) throw new Error(`listing the blocks: ${response.status} ${await response.text()}`);
    const page = await response.json();
    names.push(...page.items.map((item) => item.name));
    cursor = page.nextCursor ?? "";
  } while (cursor);
  return names;
}

if (!restore) mkdirSync(values.out, { recursive: true });
const items = restore || positionals.length > 0 ? positionals : await catalogBlocks();
if (!restore && positionals.length === 0)
  console.log(`${items.length} blocks in the catalog${values.namespace ? ` of ${values.namespace}` : ""}.`);
let failed = 0;
for (const item of items) {
  try {
    const done = restore ? await restoreFile(item) : await backup(item);
    console.log(`${done.block}: ${done.rows} rows ${restore ? "imported from" : "exported to"} ${done.file}`);
  } catch (error) {
    failed++;
    console.error(error instanceof Error ? error.message : error);
  }
}
process.exit(failed > 0 ? 1 : 0);
