/**
 * Bulk statements bind their rows as one JSON document (`json_each(?)`), and SQLite refuses a value
 * past 2 MB. Rows of a write by filter are as large as the table holds, so runs are cut by size as
 * well as by count.
 */

/** Items per multi-row statement. */
export const RUN_ITEMS = 500;
/** Characters per bound JSON document: under 2 MB even if every character takes three bytes. */
export const RUN_CHARS = 600_000;

/** Groups serialized items into runs of at most RUN_ITEMS items and RUN_CHARS characters; a bigger item runs alone. */
export function jsonRuns(parts: readonly string[]): string[][] {
  const runs: string[][] = [];
  let run: string[] = [];
  let size = 0;
  for (const part of parts) {
    if (run.length > 0 && (run.length === RUN_ITEMS || size + part.length > RUN_CHARS)) {
      runs.push(run);
      run = [];
      size = 0;
    }
    run.push(part);
    size += part.length + 1;
  }
  if (run.length > 0) runs.push(run);
  return runs;
}
