/**
 * Who is calling, as established by the Worker's auth middleware and handed to actors over RPC.
 * Plain data (serializable); tokens themselves never travel further than the Worker.
 */
export type Caller =
  | { kind: "service" }
  | {
      kind: "user";
      sub: string;
      claims: Record<string, unknown>;
      expiresAt: number;
      /** The accounts service's session, for a token the server signed itself (docs/auth.md). */
      sessionId?: string;
    }
  | { kind: "anonymous"; ip: string };

/** The key a caller is rate limited and logged under: its `sub`, its IP, or `service`. */
export function callerKey(caller: Caller): string {
  if (caller.kind === "user") return `sub:${caller.sub}`;
  if (caller.kind === "anonymous") return `ip:${caller.ip}`;
  return "service";
}
