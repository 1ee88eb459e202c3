import { DurableObject } from "cloudflare:workers";
import { type RpcResult, capture } from "../../shared/rpc";
import { type Mail, OUTBOX_SIZE, type OutboxRpc } from "./contract";

/** The development outbox (see contract.ts). */
export class OutboxDO extends DurableObject<Env> implements OutboxRpc {
  readonly #sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    this.#sql.exec("CREATE TABLE IF NOT EXISTS mail (n INTEGER PRIMARY KEY AUTOINCREMENT, recipient TEXT NOT NULL, body TEXT NOT NULL)");
  }

  append(mail: Mail): Promise<RpcResult<void>> {
    return capture(() => {
      this.#sql.exec("INSERT INTO mail (recipient, body) VALUES (?, ?)", mail.to, JSON.stringify(mail));
      this.#sql.exec("DELETE FROM mail WHERE n <= (SELECT MAX(n) FROM mail) - ?", OUTBOX_SIZE);
    });
  }

  list(to: string | null, limit: number): Promise<RpcResult<Mail[]>> {
    return capture(() => {
      const rows =
        to === null
          ? this.#sql.exec<{ body: string }>("SELECT body FROM mail ORDER BY n DESC LIMIT ?", limit)
          : this.#sql.exec<{ body: string }>("SELECT body FROM mail WHERE recipient = ? ORDER BY n DESC LIMIT ?", to, limit);
      return rows.toArray().map((row) => JSON.parse(row.body) as Mail);
    });
  }
}
