import { DurableObject } from "cloudflare:workers";
import type { Change } from "../../shared/change";

/** One block's WebSocket room: subscriptions, broadcast and presence over hibernating sockets. */
export class RealtimeDO extends DurableObject<Env> {
  /** Receives a committed group of changes from the block's DatabaseDO. Filled by the RealtimeDO issue. */
  async publish(_block: string, _changes: Change[]): Promise<void> {}
}
