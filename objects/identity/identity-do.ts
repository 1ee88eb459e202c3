import { DurableObject } from "cloudflare:workers";
import { type RpcResult, capture } from "../../shared/rpc";
import type { IdentityRpc } from "./contract";

/** One identity and the account it maps to (see contract.ts). */
export class IdentityDO extends DurableObject<Env> implements IdentityRpc {
  readonly #sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    this.#sql.exec("CREATE TABLE IF NOT EXISTS owner (account_id TEXT NOT NULL, claimed_at INTEGER NOT NULL)");
  }

  claim(accountId: string): Promise<RpcResult<{ accountId: string; claimed: boolean }>> {
    return capture(() => {
      const current = this.#owner();
      if (current !== null) return { accountId: current, claimed: current === accountId };
      this.#sql.exec("INSERT INTO owner (account_id, claimed_at) VALUES (?, ?)", accountId, Date.now());
      return { accountId, claimed: true };
    });
  }

  owner(): Promise<RpcResult<string | null>> {
    return capture(() => this.#owner());
  }

  release(accountId: string): Promise<RpcResult<{ released: boolean }>> {
    return capture(() => {
      if (this.#owner() !== accountId) return { released: false };
      this.#sql.exec("DELETE FROM owner");
      return { released: true };
    });
  }

  #owner(): string | null {
    const row = this.#sql.exec<{ account_id: string }>("SELECT account_id FROM owner LIMIT 1").toArray()[0];
    return row?.account_id ?? null;
  }
}
