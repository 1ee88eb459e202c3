/**
 * The CatalogDO's contract: the blocks that exist in one namespace, with statistics each block's
 * DatabaseDO reports (coalesced, at most every few seconds per block). Read by the operator route
 * `GET /api/admin/blocks` and the console. Imports only from `shared/`.
 */

/** What the catalog knows about one block (API.md section 10). */
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

/** Which page of a namespace's blocks `list` answers. */
export interface CatalogQuery {
  /** Names after this one (the previous page's last), in name order. */
  after: string | null;
  /** Only names starting with this. */
  prefix: string | null;
  limit: number;
}

/** One CatalogDO per namespace, named after it: registration and statistics of its blocks. */
export interface CatalogRpc {
  /** Records a block's statistics; the first report registers it (its `createdAt` is kept from then on). */
  report(entry: BlockEntry): Promise<void>;
  /** Up to `limit` blocks in name order after `after`, optionally only names starting with `prefix`. */
  list(query: CatalogQuery): Promise<BlockEntry[]>;
}

/** The catalog of `namespace`'s blocks. */
export function catalogFor(env: Env, namespace: string): CatalogRpc {
  return env.CATALOG.getByName(namespace);
}
