// The request path's own cost inside one isolate, for bench/scenarios/request-path.mjs. `POST /loop`
// with `{"mode": "ours" | "bare", "n": N, "tokens": [...]}` sends N GET /api/health requests one
// after another, each with the next token, through Actorbase's whole Worker (authentication, the
// platform limiter, routing, response headers, the log decision) or through a bare handler that
// answers `Response.json`, and answers when done. The scenario times the call from outside:
// workerd's clock does not advance while JavaScript runs. No network and no load generator share
// the measurement, so it moves by microseconds where req/s on this machine swing by 2-3x.
import actorbase from "../../workers/index";

export * from "../../workers/index";

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    if (new URL(request.url).pathname !== "/loop") return actorbase.fetch(request, env, ctx);
    const { mode, n, tokens } = (await request.json()) as { mode: "ours" | "bare"; n: number; tokens: string[] };
    let ok = 0;
    for (let i = 0; i < n; i++) {
      const each = new Request("http://localhost/api/health", { headers: { Authorization: `Bearer ${tokens[i % tokens.length]}` } });
      const response = mode === "ours" ? await actorbase.fetch(each, env, ctx) : await Promise.resolve(Response.json({ ok: true }));
      if (response.status === 200) ok++;
    }
    return Response.json({ ok });
  },
};
