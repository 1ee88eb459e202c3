/**
 * The RealtimeDO's contract: its RPC surface and the stub factory. The Worker's realtime route and
 * the DatabaseDO's hand-off use only this module; `RealtimeDO implements RealtimeRpc`, so the
 * compiler refuses a signature that drifts. Imports only from `shared/`.
 */
import type { Change } from "../../shared/change";

/**
 * The RealtimeDO's surface (docs/realtime.md): the DatabaseDO's hand-off, and WebSocket upgrades.
 * The actor knows its block from the name it was reached by (`realtimeFor`), so neither takes it.
 */
export interface RealtimeRpc {
  /**
   * Receives a committed group of changes from the block's DatabaseDO and delivers them in seq
   * order. Answers whether anyone subscribes: on `false` the DatabaseDO stops handing off until a
   * subscription starts (`DatabaseRpc.listen`).
   */
  publish(changes: Change[]): Promise<boolean>;
  /** Accepts a WebSocket upgrade the Worker verified and forwarded (docs/realtime.md, "Connecting and authenticating"). */
  fetch(request: Request): Promise<Response>;
}

/** The RealtimeDO serving `blockName` (`user:alice`, `public`), named like the block's DatabaseDO. */
export function realtimeFor(env: Env, blockName: string): RealtimeRpc {
  return env.REALTIME.getByName(blockName);
}

// The upgrade hand-off is part of the contract (handshake.ts, which imports only from shared/ too).
export { INTERNAL_HEADERS, rejectUpgrade } from "./handshake";
