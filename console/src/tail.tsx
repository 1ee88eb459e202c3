// `#/tail/<block>`: every change of the block, live. One subscription per table of the block's
// namespace over the client's realtime socket, which resumes from the last seq after a drop.
import { useEffect, useState } from "preact/hooks";
import type { Row, TableChange } from "../../client/index";
import { describe, namespaceOf, useSession } from "./session";
import { ErrorNote, tableHref, text } from "./ui";

const KEEP = 200;

type State = "connecting" | "connected" | "disconnected";

/** The columns of a row worth a glance: everything but the system columns, cut short. */
function summary(row: Row): string {
  const { id: _id, createdAt: _c, updatedAt: _u, version: _v, ...rest } = row;
  return text(rest, 120);
}

/** `#/tail/<block>`: the live change feed. */
export function TailPage({ block }: { block: string }) {
  const { client, schema } = useSession();
  const tables = Object.keys(schema.namespaces[namespaceOf(block)]?.tables ?? {});
  const [changes, setChanges] = useState<TableChange[]>([]);
  const [state, setState] = useState<State>("connecting");
  const [since, setSince] = useState<number | null>(null);
  const [errors, setErrors] = useState<string[]>([]);

  useEffect(() => {
    if (!block || tables.length === 0) return;
    const blockClient = client.db(block);
    const connection = blockClient.realtime;
    const onChange = (change: TableChange) => setChanges((old) => [change, ...old].slice(0, KEEP));
    const onError = (error: unknown) => setErrors((old) => [...old.slice(-4), describe(error)]);
    const subscriptions = tables.map((table) => blockClient.table(table).subscribe("", onChange, { onError }));
    void Promise.all(subscriptions.map((s) => s.ready)).then(
      (answers) => setSince(Math.max(...answers.map((a) => a.seq))),
      () => {},
    );
    const stopErrors = connection.onError(onError);
    // The connection reports no events for open/close; its connectionId is set only while connected.
    let seen = false;
    const poll = setInterval(() => {
      const connected = connection.connectionId !== null;
      if (connected) seen = true;
      setState(connected ? "connected" : seen ? "disconnected" : "connecting");
    }, 250);
    return () => {
      clearInterval(poll);
      stopErrors();
      for (const subscription of subscriptions) subscription.unsubscribe();
      blockClient.close();
    };
  }, [client, block, tables.join(",")]);

  if (!block || tables.length === 0) return <ErrorNote error={`No namespace ${namespaceOf(block)} in the config: cannot tail ${block}.`} />;
  return (
    <>
      <h1>
        Live tail of <code>{block}</code>
      </h1>
      <p>
        Connection:{" "}
        <span id="tail-state" class={`state ${state}`} data-state={state}>
          {state}
        </span>
        {since === null ? null : (
          <span id="tail-since">
            {" "}
            · listening to {tables.join(", ")} from seq {since}
          </span>
        )}
      </p>
      {state === "connected" ? null : (
        <p class="muted">The socket is retried with backoff; on reconnecting every subscription resumes after the last seq shown.</p>
      )}
      <ErrorNote error={errors.length ? errors.join("\n") : null} />
      <div class="inline">
        <button type="button" class="secondary" onClick={() => setChanges([])}>
          Clear
        </button>
        {tables.map((table) => (
          <a key={table} href={tableHref(block, table)}>
            Browse {table}
          </a>
        ))}
      </div>
      <table class="rows" aria-live="polite">
        <caption class="sr-only">Changes, newest first</caption>
        <thead>
          <tr>
            <th scope="col">seq</th>
            <th scope="col">op</th>
            <th scope="col">table</th>
            <th scope="col">row id</th>
            <th scope="col">summary</th>
          </tr>
        </thead>
        <tbody>
          {changes.map((change) => (
            <tr key={`${change.table}:${change.seq}:${change.row.id}`} data-seq={change.seq}>
              <td>{change.seq}</td>
              <td class={`op ${change.op}`}>{change.op}</td>
              <td>{change.table}</td>
              <td>
                <code>{String(change.row.id)}</code>
              </td>
              <td>{summary(change.row)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {changes.length === 0 ? <p class="muted">No changes yet; writes to this block appear here as they commit.</p> : null}
    </>
  );
}
