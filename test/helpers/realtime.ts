import { exports } from "cloudflare:workers";
import type { ServerMessage } from "../../shared/protocol";

/** A test socket against the Worker: frames collected in order, awaited by type. */
export interface TestSocket {
  ws: WebSocket;
  response: Response;
  messages: ServerMessage[];
  /** Resolves with the next unread frame of this type (or any type), failing after `timeoutMs`. */
  next<T extends ServerMessage["type"]>(type?: T, timeoutMs?: number): Promise<Extract<ServerMessage, { type: T }>>;
  /** Resolves when the server closes the socket. */
  closed: Promise<{ code: number; reason: string }>;
  send(message: unknown): void;
}

/** Opens a realtime socket through the Worker's fetch handler. */
export async function connect(block: string, init: { headers?: Record<string, string>; protocols?: string[] } = {}): Promise<TestSocket> {
  const headers: Record<string, string> = { Upgrade: "websocket", ...init.headers };
  if (init.protocols) headers["Sec-WebSocket-Protocol"] = init.protocols.join(", ");
  const response = await exports.default.fetch(new Request(`https://actorbase.test/api/realtime/${block}`, { headers }));
  const ws = response.webSocket;
  if (!ws) throw new Error(`no WebSocket in the answer (status ${response.status}): ${await response.text()}`);
  const messages: ServerMessage[] = [];
  let read = 0;
  const waiters: Array<() => void> = [];
  let resolveClosed: (value: { code: number; reason: string }) => void = () => {};
  const closed = new Promise<{ code: number; reason: string }>((resolve) => (resolveClosed = resolve));
  ws.addEventListener("message", (event) => {
    messages.push(JSON.parse(event.data as string) as ServerMessage);
    for (const wake of waiters.splice(0)) wake();
  });
  ws.addEventListener("close", (event) => {
    resolveClosed({ code: event.code, reason: event.reason });
    for (const wake of waiters.splice(0)) wake();
  });
  ws.accept();
  const socket: TestSocket = {
    ws,
    response,
    messages,
    closed,
    send: (message) => ws.send(typeof message === "string" ? message : JSON.stringify(message)),
    async next(type, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        while (read < messages.length) {
          const message = messages[read++] as ServerMessage;
          if (type === undefined || message.type === type) return message as never;
        }
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no "${type ?? "any"}" frame within ${timeoutMs} ms; got ${JSON.stringify(messages)}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, left);
        });
      }
    },
  };
  return socket;
}

/** Waits a little for frames that must not arrive. */
export function settle(ms = 150): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
