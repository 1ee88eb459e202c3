/**
 * A block as NDJSON (docs/operations.md, "Export and import"): a header line with the block, its
 * `seq` and the shape of each table, one line per row of every table, then an end line with the row
 * count, so a reader can tell a whole export from a truncated one. Read lazily, a page of rows per
 * pull, so a block of any size streams without being held in memory.
 */
import { quoteIdent } from "../../shared/query-sql";
import type { TableRuntime } from "./schema";

export const EXPORT_FORMAT = "actorbase.block";
export const EXPORT_VERSION = 1;

/** The first line of an export. */
export interface ExportHeader {
  format: typeof EXPORT_FORMAT;
  version: typeof EXPORT_VERSION;
  block: string;
  seq: number;
  exportedAt: string;
  /** Each table's declared columns and their types, as the exporting server's config had them. */
  tables: Record<string, { columns: Record<string, string> }>;
}

/** The last line of an export. */
export interface ExportEnd {
  end: true;
  rows: number;
}

/** Rows per pull: a few hundred KB of NDJSON. */
const PAGE = 500;

/** What the export reads from the actor; `seq()` is checked at every page. */
export interface ExportSource {
  sql: SqlStorage;
  block: string;
  seq: () => number;
  tables: TableRuntime[];
}

/**
 * The NDJSON stream of a block. A write to the block while it streams would make the rows disagree
 * with the header's `seq`, so the stream errors instead (the reader sees a truncated export, without
 * its end line) and the caller exports again.
 */
export function exportStream(source: ExportSource): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const seq = source.seq();
  const header: ExportHeader = {
    format: EXPORT_FORMAT,
    version: EXPORT_VERSION,
    block: source.block,
    seq,
    exportedAt: new Date().toISOString(),
    tables: Object.fromEntries(
      source.tables.map((t) => [t.name, { columns: Object.fromEntries(t.declared.map((c) => [c, t.config.columns[c]?.type ?? ""])) }]),
    ),
  };
  let table = 0;
  let after = "";
  let rows = 0;
  let started = false;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (!started) {
        started = true;
        controller.enqueue(encoder.encode(`${JSON.stringify(header)}\n`));
        return;
      }
      if (source.seq() !== seq) {
        controller.error(new Error(`block ${source.block} changed during the export (seq ${seq} -> ${source.seq()}); export it again`));
        return;
      }
      // Every pull enqueues something (a page, or the end line): a pull that enqueued nothing might not be called again.
      for (;;) {
        const runtime = source.tables[table];
        if (!runtime) {
          const end: ExportEnd = { end: true, rows };
          controller.enqueue(encoder.encode(`${JSON.stringify(end)}\n`));
          controller.close();
          return;
        }
        const page = source.sql
          .exec<Record<string, SqlStorageValue>>(`SELECT * FROM ${quoteIdent(runtime.name)} WHERE id > ? ORDER BY id LIMIT ?`, after, PAGE)
          .toArray();
        after = page.length < PAGE ? "" : String(page[page.length - 1]?.id);
        if (page.length < PAGE) table++;
        if (page.length === 0) continue;
        rows += page.length;
        const lines = page.map((stored) => JSON.stringify({ table: runtime.name, row: runtime.decode(stored) }));
        controller.enqueue(encoder.encode(`${lines.join("\n")}\n`));
        return;
      }
    },
  });
}
