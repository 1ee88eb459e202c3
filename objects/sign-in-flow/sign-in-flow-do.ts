import { DurableObject } from "cloudflare:workers";
import { type RpcResult, capture } from "../../shared/rpc";
import type { PendingSignIn, SignInFlowRpc, SignedInByProvider } from "./contract";

/** One OAuth sign-in step (see contract.ts); it deletes its storage once taken or expired. */
export class SignInFlowDO extends DurableObject<Env> implements SignInFlowRpc {
  put(value: PendingSignIn | SignedInByProvider, ttlMs: number): Promise<RpcResult<void>> {
    return capture(async () => {
      const expiresAt = Date.now() + ttlMs;
      await this.ctx.storage.put({ value, expiresAt });
      await this.ctx.storage.setAlarm(expiresAt);
    });
  }

  take(): Promise<RpcResult<PendingSignIn | SignedInByProvider | null>> {
    return capture(async () => {
      const [value, expiresAt] = [await this.ctx.storage.get("value"), await this.ctx.storage.get<number>("expiresAt")];
      if (value === undefined) return null;
      await this.ctx.storage.deleteAll();
      await this.ctx.storage.deleteAlarm();
      return expiresAt !== undefined && expiresAt > Date.now() ? (value as PendingSignIn | SignedInByProvider) : null;
    });
  }

  override async alarm(): Promise<void> {
    await this.ctx.storage.deleteAll();
  }
}
