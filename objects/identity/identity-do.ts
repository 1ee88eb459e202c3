import { DurableObject } from "cloudflare:workers";
import { type RpcResult, capture } from "../../shared/rpc";
import { spendPasswordCheck } from "../../shared/secrets";
import type { Claim, IdentityRpc } from "./contract";

/**
 * One identity and the account it maps to (see contract.ts). Its table is made by the first claim,
 * not on start: a signin for an email nobody has then only reads, and costs what a signin for a
 * known email costs (a write would make unknown emails measurably slower).
 */
export class IdentityDO extends DurableObject<Env> implements IdentityRpc {
  readonly #sql: SqlStorage;
  #hasTable: boolean;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    this.#hasTable = this.#sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'owner'").toArray().length > 0;
  }

  claim(accountId: string): Promise<RpcResult<Claim>> {
    return capture(() => {
      const current = this.#row();
      if (current !== null)
        return { accountId: current.account_id, claimed: current.account_id === accountId, fresh: false, claimedAt: current.claimed_at };
      const now = Date.now();
      if (!this.#hasTable) {
        this.#sql.exec("CREATE TABLE IF NOT EXISTS owner (account_id TEXT NOT NULL, claimed_at INTEGER NOT NULL)");
        this.#hasTable = true;
      }
      this.#sql.exec("INSERT INTO owner (account_id, claimed_at) VALUES (?, ?)", accountId, now);
      return { accountId, claimed: true, fresh: true, claimedAt: now };
    });
  }

  replace(staleAccountId: string, accountId: string): Promise<RpcResult<Claim>> {
    return capture(() => {
      const current = this.#row();
      if (current === null || current.account_id !== staleAccountId)
        return current === null
          ? { accountId: "", claimed: false, fresh: false, claimedAt: 0 }
          : { accountId: current.account_id, claimed: current.account_id === accountId, fresh: false, claimedAt: current.claimed_at };
      const now = Date.now();
      this.#sql.exec("UPDATE owner SET account_id = ?, claimed_at = ?", accountId, now);
      return { accountId, claimed: true, fresh: true, claimedAt: now };
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

  spendPasswordCheck(password: string): Promise<RpcResult<null>> {
    return capture(async () => {
      await spendPasswordCheck(password);
      return null;
    });
  }

  #owner(): string | null {
    return this.#row()?.account_id ?? null;
  }

  #row(): { account_id: string; claimed_at: number } | null {
    if (!this.#hasTable) return null;
    return (
      this.#sql.exec<{ account_id: string; claimed_at: number }>("SELECT account_id, claimed_at FROM owner LIMIT 1").toArray()[0] ?? null
    );
  }
}
