/**
 * A typed handle on a block's DatabaseDO. The generated stub types turn results holding
 * `Record<string, unknown>` (rows) into `never`, so callers (the Worker routes, the RealtimeDO)
 * go through this interface instead of casting at every call.
 */
import type { Block } from "../../shared/block";
import type { Caller } from "../../shared/caller";
import type { ChangesPage } from "../../shared/change";
import type { RpcResult } from "../../shared/rpc";
import type { ListResult, WriteOptions, WriteResult } from "./database-do";

/** The DatabaseDO's RPC surface, as seen from another Worker or actor. */
export interface DatabaseRpc {
  list(caller: Caller, block: Block, table: string, query: string): Promise<RpcResult<ListResult>>;
  getRow(caller: Caller, block: Block, table: string, id: string): Promise<RpcResult<{ row: Record<string, unknown>; seq: number }>>;
  insert(caller: Caller, block: Block, table: string, body: unknown, options?: WriteOptions): Promise<RpcResult<WriteResult>>;
  update(caller: Caller, block: Block, table: string, id: string, body: unknown, options?: WriteOptions): Promise<RpcResult<WriteResult>>;
  remove(caller: Caller, block: Block, table: string, id: string, options?: WriteOptions): Promise<RpcResult<WriteResult>>;
  batch(caller: Caller, block: Block, body: unknown, options?: WriteOptions): Promise<RpcResult<WriteResult>>;
  changesSince(since: number, options?: { table?: string; limit?: number }): Promise<ChangesPage>;
}

/** The DatabaseDO serving `blockName` (`user:alice`, `public`). */
export function databaseFor(env: Env, blockName: string): DatabaseRpc {
  return env.DATABASE.get(env.DATABASE.idFromName(blockName)) as unknown as DatabaseRpc;
}
