/**
 * The RealtimeDO's view of its block's DatabaseDO: the ordered change log (backfill and `since`
 * replays) and consistent snapshots. Both are RPCs to the actor named like this one.
 */
import type { Caller } from "../../shared/caller";
import type { ChangesPage } from "../../shared/change";
import type { Row } from "../../shared/protocol";
import { released, unwrap } from "../../shared/rpc";
import { type ChangesOptions, databaseFor } from "../database/contract";

export interface SnapshotPage {
  items: Row[];
  nextCursor: string | null;
  /** The seq the rows were read at: changes after it follow the snapshot. */
  seq: number;
}

export interface ChangeSource {
  /** Asks the DatabaseDO to hand off every commit from now on; answers its seq so far. */
  listen(): Promise<number>;
  changesSince(since: number, options: ChangesOptions): Promise<ChangesPage>;
  snapshot(caller: Caller, table: string, query: string): Promise<SnapshotPage>;
}

/** The change source of block `blockName`, backed by its DatabaseDO. */
export function databaseOf(env: Env, blockName: string): ChangeSource {
  const actor = databaseFor(env, blockName);
  return {
    listen: () => actor.listen(),
    changesSince: async (since, options) => released(await actor.changesSince(since, options)),
    async snapshot(caller, table, query) {
      // One synchronous read in the DatabaseDO: the rows and their seq agree.
      const page = unwrap(await actor.list(caller, table, query));
      return { items: page.items, nextCursor: page.nextCursor, seq: page.seq };
    },
  };
}
