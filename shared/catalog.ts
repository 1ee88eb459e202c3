/**
 * The catalog of blocks as the operator API answers it (`GET /api/admin/blocks`, API.md section 10),
 * shared by the CatalogDO, the admin route and the client.
 */

/** What the catalog knows about one block; statistics lag writes by a few seconds. */
export interface BlockEntry {
  name: string;
  namespace: string;
  /** The id part of a dynamic block's name (`alice` in `user:alice`); null for a static block. */
  id: string | null;
  /** When the block first registered (ms since the epoch). */
  createdAt: number;
  /** The latest write the block had reported (ms since the epoch); null before its first write. */
  lastWriteAt: number | null;
  /** The block's seq at its latest report. */
  seq: number;
  /** Rows per table that exists in the block's store. */
  tables: Record<string, { rows: number }>;
  /** The size of the block's SQLite database. */
  bytes: number;
}

/** One page of the catalog, in namespace then name order. */
export interface BlockPage {
  items: BlockEntry[];
  nextCursor: string | null;
}
