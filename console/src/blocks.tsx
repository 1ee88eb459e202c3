// `#/blocks`: the block catalog by namespace, searchable by name prefix and paged by cursor, and a
// form that opens any block by name (a new block reaches the catalog a few seconds after its first write).
import { useState } from "preact/hooks";
import type { BlockInfo } from "../../client/index";
import { namespaceOf, useSession } from "./session";
import { ErrorNote, bytes, tableHref, tailHref, time, useLoad } from "./ui";

const PAGE_SIZE = 50;

/** Opens a block by name: its table browser or its live tail. */
export function OpenBlock({ initialBlock = "" }: { initialBlock?: string }) {
  const { schema } = useSession();
  const [block, setBlock] = useState(initialBlock);
  const tables = Object.keys(schema.namespaces[namespaceOf(block.trim())]?.tables ?? {});
  const [table, setTable] = useState("");
  const chosen = tables.includes(table) ? table : (tables[0] ?? "");
  return (
    <form
      class="inline"
      aria-label="Open a block"
      onSubmit={(event) => {
        event.preventDefault();
        if (block.trim() && chosen) location.hash = tableHref(block.trim(), chosen);
      }}
    >
      <label for="open-block">Block</label>
      <input id="open-block" placeholder="user:alice" value={block} onInput={(e) => setBlock(e.currentTarget.value)} />
      <label for="open-table">Table</label>
      <select id="open-table" value={chosen} onChange={(e) => setTable(e.currentTarget.value)} disabled={tables.length === 0}>
        {tables.length === 0 ? <option value="">(name a block first)</option> : null}
        {tables.map((name) => (
          <option key={name} value={name}>
            {name}
          </option>
        ))}
      </select>
      <button type="submit" disabled={!chosen}>
        Open table
      </button>
      <a class={chosen ? "button secondary" : "button secondary disabled"} href={chosen ? tailHref(block.trim()) : undefined}>
        Live tail
      </a>
      {block.trim() && tables.length === 0 ? <span class="muted">No namespace {namespaceOf(block.trim())} in the config.</span> : null}
    </form>
  );
}

function BlockRows({ items }: { items: BlockInfo[] }) {
  return (
    <table>
      <thead>
        <tr>
          <th scope="col">Block</th>
          <th scope="col">Rows per table</th>
          <th scope="col">Size</th>
          <th scope="col">Last write</th>
          <th scope="col">Seq</th>
          <th scope="col">Live</th>
        </tr>
      </thead>
      <tbody>
        {items.map((block) => (
          <tr key={block.name} data-block={block.name}>
            <th scope="row">
              <code>{block.name}</code>
            </th>
            <td>
              {Object.entries(block.tables).map(([table, stats]) => (
                <a key={table} class="chip" href={tableHref(block.name, table)}>
                  {table}: {stats.rows}
                </a>
              ))}
            </td>
            <td>{bytes(block.bytes)}</td>
            <td>{time(block.lastWriteAt)}</td>
            <td>{block.seq}</td>
            <td>
              <a href={tailHref(block.name)}>Tail {block.name}</a>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** `#/blocks`: the catalog. */
export function BlocksPage() {
  const { schema, call } = useSession();
  const [namespace, setNamespace] = useState("");
  const [prefix, setPrefix] = useState("");
  const [search, setSearch] = useState({ namespace: "", prefix: "" });
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1];
  const page = useLoad(
    () =>
      call((client) =>
        client.admin.blocks({
          limit: PAGE_SIZE,
          ...(search.namespace ? { namespace: search.namespace } : {}),
          ...(search.prefix ? { prefix: search.prefix } : {}),
          ...(cursor ? { cursor } : {}),
        }),
      ),
    [search, cursor],
  );
  const groups = new Map<string, BlockInfo[]>();
  for (const block of page.data?.items ?? []) groups.set(block.namespace, [...(groups.get(block.namespace) ?? []), block]);
  return (
    <>
      <h1>Blocks</h1>
      <OpenBlock />
      <form
        class="inline"
        aria-label="Search blocks"
        onSubmit={(event) => {
          event.preventDefault();
          setCursors([]);
          setSearch({ namespace, prefix: prefix.trim() });
          page.reload(); // searching again with the same values refreshes
        }}
      >
        <label for="blocks-namespace">Namespace</label>
        <select id="blocks-namespace" value={namespace} onChange={(e) => setNamespace(e.currentTarget.value)}>
          <option value="">all</option>
          {Object.keys(schema.namespaces).map((name) => (
            <option key={name} value={name}>
              {name}
            </option>
          ))}
        </select>
        <label for="blocks-prefix">Name starts with</label>
        <input id="blocks-prefix" type="search" placeholder="user:al" value={prefix} onInput={(e) => setPrefix(e.currentTarget.value)} />
        <button type="submit">Search</button>
      </form>
      <ErrorNote error={page.error} />
      {page.loading ? <p class="muted">Loading…</p> : null}
      {page.data && page.data.items.length === 0 ? <p>No blocks match.</p> : null}
      {[...groups].map(([name, items]) => (
        <section key={name} aria-labelledby={`blocks-${name}`}>
          <h2 id={`blocks-${name}`}>{name}</h2>
          <BlockRows items={items} />
        </section>
      ))}
      <div class="pager">
        <button type="button" disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))}>
          Previous page
        </button>
        <button
          type="button"
          disabled={!page.data?.nextCursor}
          onClick={() => page.data?.nextCursor && setCursors([...cursors, page.data.nextCursor])}
        >
          Next page
        </button>
      </div>
    </>
  );
}
