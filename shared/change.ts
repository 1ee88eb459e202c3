/**
 * One committed write in a block's ordered change log. `seq` is the block's change sequence
 * number: strictly increasing, no gaps. The DatabaseDO appends these in the same transaction as
 * the write and hands each committed group to the block's RealtimeDO.
 */
export interface Change {
  seq: number;
  table: string;
  op: "insert" | "update" | "delete";
  id: string;
  /** The row after the write (for a delete, the deleted row). */
  row: Record<string, unknown>;
  /** The row before the write (update and delete). */
  old?: Record<string, unknown>;
}

/** An answer of `DatabaseDO.changesSince`. */
export interface ChangesPage {
  /** Changes with seq > since, in seq order, at most `limit`. */
  changes: Change[];
  /** The block's latest committed seq when the page was read. */
  seq: number;
  /** The oldest seq the log still holds; `since < oldestSeq - 1` means history was truncated. */
  oldestSeq: number;
}
