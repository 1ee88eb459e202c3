// The baseline Worker: the least a Worker (and a Worker → Durable Object call) can do here.
//   GET  /noop              a bare Worker answering JSON
//   GET  /noop-as-health    the same, with the body and headers /api/health answers with
//   GET  /do-noop?key=k     Worker → DO RPC that does nothing
//   GET  /do-get?key=k&id=  Worker → DO RPC that reads one row by primary key
//   POST /do-insert?key=k   Worker → DO RPC that commits one SQLite INSERT
//   POST /do-insert-many?key=k&n=N  Worker → DO RPC that inserts N rows in one transaction
import { DurableObject } from "cloudflare:workers";

interface BaselineEnv {
  BASELINE: DurableObjectNamespace<BaselineDO>;
}

export class BaselineDO extends DurableObject<BaselineEnv> {
  constructor(ctx: DurableObjectState, env: BaselineEnv) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS rows (id TEXT PRIMARY KEY, body TEXT NOT NULL)");
  }

  noop(): string {
    return "ok";
  }

  get(id: string): unknown {
    return this.ctx.storage.sql.exec("SELECT id, body FROM rows WHERE id = ?", id).toArray()[0] ?? null;
  }

  insert(body: string): string {
    const id = crypto.randomUUID();
    this.ctx.storage.sql.exec("INSERT INTO rows (id, body) VALUES (?, ?)", id, body);
    return id;
  }

  insertMany(n: number, body: string): number {
    this.ctx.storage.transactionSync(() => {
      for (let i = 0; i < n; i++) this.ctx.storage.sql.exec("INSERT INTO rows (id, body) VALUES (?, ?)", crypto.randomUUID(), body);
    });
    return n;
  }
}

export default {
  async fetch(request: Request, env: BaselineEnv): Promise<Response> {
    const url = new URL(request.url);
    const stub = () => env.BASELINE.get(env.BASELINE.idFromName(url.searchParams.get("key") ?? "k"));
    switch (url.pathname) {
      case "/noop":
      case "/api/health":
        return Response.json({ ok: true });
      case "/noop-as-health":
        return new Response('{"ok":true,"version":"0.1.0"}', {
          headers: {
            "Content-Type": "application/json; charset=utf-8",
            RateLimit: '"api";r=9999;t=1',
            "RateLimit-Policy": '"api";q=10000;w=60',
            "Server-Timing": 'ratelimit;desc="isolate", total;dur=0',
            "X-Request-Id": crypto.randomUUID(),
          },
        });
      case "/do-noop":
        return Response.json({ ok: await stub().noop() });
      case "/do-get":
        return Response.json({ row: await stub().get(url.searchParams.get("id") ?? "") });
      case "/do-insert":
        return Response.json({ id: await stub().insert(await request.text()) }, { status: 201 });
      case "/do-insert-many":
        return Response.json(
          { n: await stub().insertMany(Number(url.searchParams.get("n") ?? "1"), await request.text()) },
          { status: 201 },
        );
      default:
        return new Response("not found", { status: 404 });
    }
  },
};
