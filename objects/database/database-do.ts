import { DurableObject } from "cloudflare:workers";
import type { ChangesPage } from "../../shared/change";

/** One tenant block's SQLite store: schema, queries, writes and the ordered change log. */
export class DatabaseDO extends DurableObject<Env> {
  /** Changes after `since` (optionally one table), in seq order, at most `limit`. Filled by the DatabaseDO issue. */
  async changesSince(_since: number, _options: { table?: string; limit?: number } = {}): Promise<ChangesPage> {
    return { changes: [], seq: 0, oldestSeq: 1 };
  }
}
