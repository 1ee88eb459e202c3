/**
 * The OutboxDO's contract: where `AUTH_MAILER=log` keeps the mail it "sends" in development, for
 * the service key to read at `GET /api/auth/outbox` (one actor, named `outbox`; the newest
 * OUTBOX_SIZE messages). Imports only `shared/`.
 */
import type { RpcResult } from "../../shared/rpc";

/** One message the accounts service sent. */
export interface Mail {
  to: string;
  subject: string;
  text: string;
  /** What it is for, and the one-time token it carries. */
  kind: "verify" | "reset";
  token: string;
  sentAt: string;
}

/** Messages kept. */
export const OUTBOX_SIZE = 200;

export interface OutboxRpc {
  /** Keeps a message (the oldest beyond OUTBOX_SIZE go). */
  append(mail: Mail): Promise<RpcResult<void>>;
  /** The newest messages first, to one address when `to` is given. */
  list(to: string | null, limit: number): Promise<RpcResult<Mail[]>>;
}

export function outbox(env: Env): OutboxRpc {
  return env.OUTBOX.getByName("outbox");
}
