// The naive realtime fan-out the realtime benchmarks compare against: what a first version
// usually does. Each write commits a row, then loops over every socket: reads the socket's
// attachment, re-checks the subscriber's filter with a SQL query against the row, serializes the
// whole message for that socket and sends it. No subscription index, no shared serialization.
//   GET  /ws?key=k&minPriority=N[&deflate=0]  hibernating WebSocket subscriber (answers {"type":"subscribed"});
//                                       deflate=0 declines permessage-deflate, which is otherwise accepted
//   POST /publish?key=k                 body {title, body, priority}: insert + fan-out, answers {seq}
//   GET  /noop                          health
import { DurableObject } from "cloudflare:workers";

interface NaiveEnv {
  NAIVE: DurableObjectNamespace<NaiveRealtimeDO>;
}

export class NaiveRealtimeDO extends DurableObject<NaiveEnv> {
  #seq: number;

  constructor(ctx: DurableObjectState, env: NaiveEnv) {
    super(ctx, env);
    ctx.storage.sql.exec(
      "CREATE TABLE IF NOT EXISTS rows (seq INTEGER PRIMARY KEY, id TEXT NOT NULL, title TEXT, body TEXT, priority INTEGER NOT NULL DEFAULT 0)",
    );
    this.#seq = Number(ctx.storage.sql.exec<{ s: number | null }>("SELECT max(seq) AS s FROM rows").one().s ?? 0);
  }

  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/ws") {
      const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
      this.ctx.acceptWebSocket(server);
      server.serializeAttachment({ sub: "s1", minPriority: Number(url.searchParams.get("minPriority") ?? "0") });
      server.send(JSON.stringify({ type: "subscribed", id: "s1", seq: this.#seq }));
      const headers: Record<string, string> = url.searchParams.get("deflate") === "0" ? { "Sec-WebSocket-Extensions": "none" } : {};
      return new Response(null, { status: 101, webSocket: client, headers });
    }
    const data = (await request.json()) as { title?: string; body?: string; priority?: number };
    const seq = ++this.#seq;
    const id = crypto.randomUUID();
    this.ctx.storage.sql.exec(
      "INSERT INTO rows (seq, id, title, body, priority) VALUES (?, ?, ?, ?, ?)",
      seq,
      id,
      data.title ?? "",
      data.body ?? "",
      data.priority ?? 0,
    );
    for (const ws of this.ctx.getWebSockets()) {
      const { sub, minPriority } = ws.deserializeAttachment() as { sub: string; minPriority: number };
      const row = this.ctx.storage.sql
        .exec("SELECT id, title, body, priority FROM rows WHERE seq = ? AND priority >= ?", seq, minPriority)
        .toArray()[0];
      if (!row) continue;
      try {
        ws.send(JSON.stringify({ type: "change", sub, seq, op: "insert", table: "notes", row }));
      } catch {
        // closed
      }
    }
    return Response.json({ seq }, { status: 201 });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    if (message === '{"type":"ping"}') ws.send('{"type":"pong"}');
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    try {
      ws.close(code === 1005 || code === 1006 || code === 1015 ? 1000 : code);
    } catch {}
  }
}

export default {
  async fetch(request: Request, env: NaiveEnv): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/noop") return Response.json({ ok: true });
    const stub = env.NAIVE.get(env.NAIVE.idFromName(url.searchParams.get("key") ?? "k"));
    return stub.fetch(new Request(request.url, request));
  },
};
