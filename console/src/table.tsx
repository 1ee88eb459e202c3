// `#/tables/<block>/<table>`: one table of one block through the query grammar (filters, order,
// page size, cursor paging), with insert, edit (If-Match) and delete (confirmed inline).
import { useState } from "preact/hooks";
import type { Row, Stored } from "../../client/index";
import { OpenBlock } from "./blocks";
import { RowForm } from "./row-form";
import { describe, namespaceOf, useSession } from "./session";
import { ErrorNote, Status, tailHref, text, time, useLoad } from "./ui";

const PAGE_SIZES = [10, 25, 50, 100, 200];

interface Query {
  filter: string;
  order: string;
  limit: number;
}

/** The list query string: the filter as typed, then order, limit, count and the page's cursor. */
function listQuery(query: Query, cursor: string | undefined): string {
  const parts = [query.filter.trim().replace(/^[?&]+/, "")];
  if (query.order.trim()) parts.push(`order=${encodeURIComponent(query.order.trim())}`);
  parts.push(`limit=${query.limit}`, "count=exact");
  if (cursor) parts.push(`cursor=${encodeURIComponent(cursor)}`);
  return parts.filter(Boolean).join("&");
}

/** `#/tables/...`: the browser, or the form to open a block when none is named. */
export function TablePage({ block, table }: { block: string; table: string }) {
  const { schema } = useSession();
  const columns = schema.namespaces[namespaceOf(block)]?.tables[table]?.columns;
  if (!block || !table || !columns) {
    return (
      <>
        <h1>Tables</h1>
        {block && table ? <ErrorNote error={`The config has no table ${table} in namespace ${namespaceOf(block)}.`} /> : null}
        <p>Open any block by name, even one the catalog does not list yet.</p>
        <OpenBlock initialBlock={block} />
      </>
    );
  }
  return <Browser block={block} table={table} columns={columns} />;
}

function Browser({ block, table, columns }: { block: string; table: string; columns: Parameters<typeof RowForm>[0]["columns"] }) {
  const { call } = useSession();
  const [draft, setDraft] = useState<Query>({ filter: "", order: "", limit: 50 });
  const [query, setQuery] = useState<Query>(draft);
  const [cursors, setCursors] = useState<string[]>([]);
  const [editing, setEditing] = useState<Stored<Row> | "new" | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const cursor = cursors[cursors.length - 1];
  const page = useLoad(() => call((client) => client.db(block).table(table).list(listQuery(query, cursor))), [query, cursor]);
  const names = Object.keys(columns);

  async function remove(id: string) {
    setConfirming(null);
    try {
      await call((client) => client.db(block).table(table).delete(id));
      setNotice(`Deleted ${id}.`);
      page.reload();
    } catch (err) {
      setFailure(describe(err));
    }
  }

  const first = cursors.length * query.limit;
  const items = page.data?.items ?? [];
  return (
    <>
      <h1>
        <code>{block}</code> / {table}
      </h1>
      <p>
        <a href={tailHref(block)}>Live tail of {block}</a>
      </p>
      <form
        class="inline"
        aria-label="Query"
        onSubmit={(event) => {
          event.preventDefault();
          setCursors([]);
          setQuery({ ...draft });
          page.reload(); // applying the same query again refreshes
        }}
      >
        <label for="query-filter">Filter</label>
        <input
          id="query-filter"
          class="wide"
          placeholder="done=eq.false&priority=gt.1"
          value={draft.filter}
          onInput={(e) => setDraft({ ...draft, filter: e.currentTarget.value })}
        />
        <label for="query-order">Order</label>
        <input
          id="query-order"
          placeholder="priority.desc"
          value={draft.order}
          onInput={(e) => setDraft({ ...draft, order: e.currentTarget.value })}
        />
        <label for="query-limit">Page size</label>
        <select id="query-limit" value={String(draft.limit)} onChange={(e) => setDraft({ ...draft, limit: Number(e.currentTarget.value) })}>
          {PAGE_SIZES.map((size) => (
            <option key={size} value={String(size)}>
              {size}
            </option>
          ))}
        </select>
        <button type="submit">Apply</button>
        <button type="button" class="secondary" onClick={() => setEditing("new")}>
          New row
        </button>
      </form>
      {editing ? (
        <RowForm
          key={editing === "new" ? "new" : `${editing.id}@${editing.version}`}
          block={block}
          table={table}
          columns={columns}
          {...(editing === "new" ? {} : { row: editing })}
          onCancel={() => setEditing(null)}
          onSaved={(row) => {
            setNotice(editing === "new" ? `Inserted ${row.id}.` : `Saved ${row.id} (version ${row.version}).`);
            setEditing(null);
            page.reload();
          }}
        />
      ) : null}
      {notice ? <Status>{notice}</Status> : null}
      <ErrorNote error={failure ?? page.error} />
      {page.data && !page.loading ? (
        <p id="page-summary">
          {items.length === 0
            ? "No rows match."
            : `Rows ${first + 1}–${first + items.length}${page.data.total === undefined ? "" : ` of ${page.data.total}`}, page ${cursors.length + 1}, seq ${page.data.seq}.`}
        </p>
      ) : (
        <p class="muted">Loading…</p>
      )}
      <div class="scroll">
        <table class="rows">
          <thead>
            <tr>
              <th scope="col">id</th>
              {names.map((name) => (
                <th scope="col" key={name}>
                  {name}
                </th>
              ))}
              <th scope="col">version</th>
              <th scope="col">updatedAt</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {items.map((row) => (
              <tr key={row.id} data-id={row.id}>
                <th scope="row">
                  <code>{row.id}</code>
                </th>
                {names.map((name) => (
                  <td key={name} data-column={name}>
                    {text(row[name])}
                  </td>
                ))}
                <td>{row.version}</td>
                <td>{time(row.updatedAt)}</td>
                <td class="actions">
                  {confirming === row.id ? (
                    <>
                      <button type="button" class="danger" onClick={() => void remove(row.id)}>
                        Confirm delete
                      </button>
                      <button type="button" class="secondary" onClick={() => setConfirming(null)}>
                        Keep
                      </button>
                    </>
                  ) : (
                    <>
                      <button type="button" aria-label={`Edit ${row.id}`} onClick={() => setEditing(row)}>
                        Edit
                      </button>
                      <button type="button" class="secondary" aria-label={`Delete ${row.id}`} onClick={() => setConfirming(row.id)}>
                        Delete
                      </button>
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div class="pager">
        <button type="button" disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))}>
          Previous page
        </button>
        <button
          type="button"
          disabled={!page.data?.nextCursor}
          onClick={() => {
            const next = page.data?.nextCursor;
            if (next) setCursors([...cursors, next]);
          }}
        >
          Next page
        </button>
      </div>
    </>
  );
}
