/**
 * The CatalogDO's contract: the blocks that exist in one namespace, with statistics each block's
 * DatabaseDO reports (coalesced, at most every few seconds per block). Read by the operator route
 * `GET /api/admin/blocks` and the console. Imports only from `shared/`.
 */
import type { BlockEntry } from "../../shared/catalog";

export type { BlockEntry };

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
