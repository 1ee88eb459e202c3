// `#/explorer`: the API's own OpenAPI document. Pick an operation, fill its path and query
// parameters and a JSON body, send it with the service key and read the answer.
import { useState } from "preact/hooks";
import { useSession } from "./session";
import { ErrorNote, useLoad } from "./ui";

const METHODS = ["get", "post", "put", "patch", "delete"] as const;
const SHOWN_HEADERS = [
  "content-type",
  "x-request-id",
  "x-seq",
  "etag",
  "server-timing",
  "ratelimit",
  "ratelimit-policy",
  "retry-after",
  "allow",
  "location",
];

interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  description?: string;
}

interface Operation {
  method: string;
  path: string;
  tag: string;
  summary: string;
  parameters: Parameter[];
  hasBody: boolean;
}

type Doc = Record<string, unknown>;

/** Follows a local `$ref` (`#/components/parameters/Block`) within the document. */
function resolve(doc: Doc, node: unknown): unknown {
  const ref = (node as { $ref?: unknown } | null)?.$ref;
  if (typeof ref !== "string" || !ref.startsWith("#/")) return node;
  return ref
    .slice(2)
    .split("/")
    .reduce<unknown>((at, part) => (at as Doc | undefined)?.[part.replaceAll("~1", "/").replaceAll("~0", "~")], doc);
}

/** Every operation of the document, with its parameters resolved. */
function operations(doc: Doc): Operation[] {
  const found: Operation[] = [];
  for (const [path, rawItem] of Object.entries((doc.paths as Record<string, unknown>) ?? {})) {
    const item = resolve(doc, rawItem) as Record<string, unknown>;
    const shared = ((item.parameters as unknown[]) ?? []).map((p) => resolve(doc, p) as Parameter);
    for (const method of METHODS) {
      const op = item[method] as
        | { tags?: string[]; summary?: string; operationId?: string; parameters?: unknown[]; requestBody?: unknown }
        | undefined;
      if (!op) continue;
      const own = (op.parameters ?? []).map((p) => resolve(doc, p) as Parameter);
      const parameters = [...shared.filter((p) => !own.some((o) => o.name === p.name && o.in === p.in)), ...own].filter(
        (p) => p.in === "path" || p.in === "query",
      );
      for (const match of path.matchAll(/\{([^}]+)\}/g)) {
        const name = match[1] ?? "";
        if (!parameters.some((p) => p.in === "path" && p.name === name)) parameters.unshift({ name, in: "path", required: true });
      }
      found.push({
        method,
        path,
        tag: op.tags?.[0] ?? "other",
        summary: op.summary ?? op.operationId ?? "",
        parameters,
        hasBody: op.requestBody !== undefined,
      });
    }
  }
  return found;
}

interface Answer {
  status: number;
  statusText: string;
  headers: [string, string][];
  body: string;
}

function Request({ operation }: { operation: Operation }) {
  const { key } = useSession();
  const [params, setParams] = useState<Record<string, string>>({});
  const [body, setBody] = useState(operation.hasBody ? "{}" : "");
  const [answer, setAnswer] = useState<Answer | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function send() {
    setFailure(null);
    let path = operation.path;
    const search = new URLSearchParams();
    for (const p of operation.parameters) {
      const value = params[`${p.in}:${p.name}`] ?? "";
      if (p.in === "path") path = path.replace(`{${p.name}}`, encodeURIComponent(value));
      else if (value !== "") search.append(p.name, value);
    }
    const headers: Record<string, string> = { Authorization: `Bearer ${key}` };
    if (operation.hasBody && body.trim()) {
      try {
        JSON.parse(body);
      } catch {
        setFailure("The body is not valid JSON.");
        return;
      }
      headers["Content-Type"] = "application/json";
    }
    setBusy(true);
    try {
      const query = search.toString();
      const response = await fetch(`${path}${query ? `?${query}` : ""}`, {
        method: operation.method.toUpperCase(),
        headers,
        ...(operation.hasBody && body.trim() ? { body } : {}),
      });
      const raw = await response.text();
      let pretty = raw;
      try {
        pretty = JSON.stringify(JSON.parse(raw), null, 2);
      } catch {}
      setAnswer({
        status: response.status,
        statusText: response.statusText,
        headers: SHOWN_HEADERS.flatMap((name): [string, string][] => {
          const value = response.headers.get(name);
          return value === null ? [] : [[name, value]];
        }),
        body: pretty,
      });
    } catch (err) {
      setFailure(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section class="card" aria-labelledby="op-title">
      <h2 id="op-title">
        <span class={`method ${operation.method}`}>{operation.method.toUpperCase()}</span> <code>{operation.path}</code>
      </h2>
      {operation.summary ? <p>{operation.summary}</p> : null}
      <form
        class="stack"
        aria-label="Request"
        onSubmit={(event) => {
          event.preventDefault();
          void send();
        }}
      >
        {operation.parameters.map((p) => {
          const id = `param-${p.in}-${p.name}`;
          return (
            <div class="field" key={id}>
              <label for={id}>
                {p.name}{" "}
                <span class="muted">
                  ({p.in}
                  {p.required ? ", required" : ""})
                </span>
              </label>
              <input
                id={id}
                value={params[`${p.in}:${p.name}`] ?? ""}
                onInput={(e) => setParams({ ...params, [`${p.in}:${p.name}`]: e.currentTarget.value })}
              />
            </div>
          );
        })}
        {operation.hasBody ? (
          <div class="field">
            <label for="op-body">JSON body</label>
            <textarea id="op-body" rows={6} value={body} onInput={(e) => setBody(e.currentTarget.value)} />
          </div>
        ) : null}
        <div class="actions">
          <button type="submit" disabled={busy}>
            Send with the service key
          </button>
        </div>
      </form>
      <ErrorNote error={failure} />
      {answer ? (
        <div id="op-answer">
          <p>
            Status: <strong data-status={answer.status}>{answer.status}</strong> {answer.statusText}
          </p>
          <dl>
            {answer.headers.map(([name, value]) => (
              <div key={name}>
                <dt>{name}</dt>
                <dd>{value}</dd>
              </div>
            ))}
          </dl>
          <pre>{answer.body}</pre>
        </div>
      ) : null}
    </section>
  );
}

/** `#/explorer`: operations grouped by tag, and a request form for the one picked. */
export function ExplorerPage() {
  const { call } = useSession();
  const doc = useLoad(() => call((client) => client.admin.openApi()), []);
  const [picked, setPicked] = useState<string | null>(null);
  const all = doc.data ? operations(doc.data) : [];
  const tags = [...new Set(all.map((op) => op.tag))];
  const chosen = all.find((op) => `${op.method} ${op.path}` === picked);
  return (
    <>
      <h1>API explorer</h1>
      <ErrorNote error={doc.error} />
      {doc.loading ? <p class="muted">Loading /api/openapi.json…</p> : null}
      <div class="explorer">
        <nav aria-label="Operations" class="operations">
          {tags.map((tag) => (
            <section key={tag}>
              <h2>{tag}</h2>
              <ul>
                {all
                  .filter((op) => op.tag === tag)
                  .map((op) => {
                    const id = `${op.method} ${op.path}`;
                    return (
                      <li key={id}>
                        <button type="button" class="link" aria-pressed={picked === id} onClick={() => setPicked(id)}>
                          <span class={`method ${op.method}`}>{op.method.toUpperCase()}</span> {op.path}
                        </button>
                      </li>
                    );
                  })}
              </ul>
            </section>
          ))}
        </nav>
        {chosen ? <Request key={picked} operation={chosen} /> : <p>Pick an operation.</p>}
      </div>
    </>
  );
}
