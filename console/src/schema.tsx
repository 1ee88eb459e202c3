// The config as the server reads it: namespaces with their kind and rules, each table's columns,
// indexes and search columns, and the rate-limit policies.
import type { ColumnSchema, TableSchema } from "../../client/index";
import { useSession } from "./session";
import { text } from "./ui";

/** Rules by operation, each shown as the name of its function. */
export function Rules({ rules }: { rules: Record<string, string> | undefined }) {
  const entries = Object.entries(rules ?? {});
  if (entries.length === 0) return <span class="muted">none (service key only)</span>;
  return (
    <span>
      {entries.map(([op, name], i) => (
        <span key={op}>
          {i > 0 ? ", " : ""}
          {op}: <code>{name}</code>
        </span>
      ))}
    </span>
  );
}

function columnFacts(column: ColumnSchema): string {
  const facts: string[] = [];
  if (column.required) facts.push("required");
  if (column.unique) facts.push("unique");
  if (column.default !== undefined) facts.push(`default ${text(column.default)}`);
  if (column.enum) facts.push(`one of ${column.enum.join(", ")}`);
  if (column.maxLength !== undefined) facts.push(`at most ${column.maxLength}`);
  if (column.min !== undefined) facts.push(`≥ ${column.min}`);
  if (column.max !== undefined) facts.push(`≤ ${column.max}`);
  return facts.join("; ");
}

function Table({ namespace, name, table }: { namespace: string; name: string; table: TableSchema }) {
  return (
    <section class="card" aria-labelledby={`t-${namespace}-${name}`}>
      <h3 id={`t-${namespace}-${name}`}>
        {namespace}.{name}
      </h3>
      <table>
        <caption class="sr-only">Columns of {name}</caption>
        <thead>
          <tr>
            <th scope="col">Column</th>
            <th scope="col">Type</th>
            <th scope="col">Constraints</th>
          </tr>
        </thead>
        <tbody>
          {Object.entries(table.columns).map(([column, spec]) => (
            <tr key={column}>
              <th scope="row">
                <code>{column}</code>
              </th>
              <td>{spec.type}</td>
              <td>{columnFacts(spec)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p>
        Indexes:{" "}
        {table.indexes?.length
          ? table.indexes.map((index) => `(${index.columns.join(", ")})${index.unique ? " unique" : ""}`).join("; ")
          : "none"}
      </p>
      <p>Search: {table.search?.length ? table.search.join(", ") : "none"}</p>
      {table.rules ? (
        <p>
          Table rules: <Rules rules={table.rules} />
        </p>
      ) : null}
    </section>
  );
}

/** `#/schema`: every namespace and table of the config. */
export function SchemaPage() {
  const { schema } = useSession();
  const policies = Object.entries(schema.rateLimits?.policies ?? {});
  return (
    <>
      <h1>Schema</h1>
      {Object.entries(schema.namespaces).map(([namespace, spec]) => (
        <section key={namespace} class="namespace" aria-labelledby={`ns-${namespace}`}>
          <h2 id={`ns-${namespace}`}>
            {namespace} <span class="badge">{spec.kind}</span>
          </h2>
          <p>
            Rules: <Rules rules={spec.rules} />
          </p>
          {Object.entries(spec.tables).map(([name, table]) => (
            <Table key={name} namespace={namespace} name={name} table={table} />
          ))}
        </section>
      ))}
      {policies.length > 0 ? (
        <section aria-labelledby="policies">
          <h2 id="policies">Rate-limit policies</h2>
          <ul>
            {policies.map(([name, policy]) => (
              <li key={name}>
                <code>{name}</code>: {text(policy, 200)}
              </li>
            ))}
          </ul>
        </section>
      ) : null}
    </>
  );
}
