// The insert and edit form of the table browser, built from the table's columns. Validation errors
// (422 `errors`) are shown next to the field they name; an edit sends `If-Match` with the version
// the form was opened with, so a row changed meanwhile answers 412 and the form says so.
import type { JSX } from "preact";
import { useState } from "preact/hooks";
import { ActorbaseError, type ColumnSchema, type Row, type Stored } from "../../client/index";
import { describe, useSession } from "./session";
import { ErrorNote } from "./ui";

type StoredRow = Stored<Row>;

interface Props {
  block: string;
  table: string;
  columns: Record<string, ColumnSchema>;
  /** The row being edited; absent to insert a new one. */
  row?: StoredRow;
  onSaved(row: StoredRow): void;
  onCancel(): void;
}

/** A column's value as the text its input holds. */
function toInput(value: unknown): string {
  if (value === null || value === undefined) return "";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

/** An input's text as the column's value, or an error message. */
function fromInput(spec: ColumnSchema, raw: string): { value: unknown } | { error: string } {
  switch (spec.type) {
    case "integer":
    case "number": {
      const n = Number(raw);
      if (!Number.isFinite(n) || (spec.type === "integer" && !Number.isInteger(n)))
        return { error: `must be ${spec.type === "integer" ? "an integer" : "a number"}` };
      return { value: n };
    }
    case "boolean":
      return { value: raw === "true" };
    case "json":
    case "array":
      try {
        return { value: JSON.parse(raw) as unknown };
      } catch {
        return { error: "is not valid JSON" };
      }
    default:
      return { value: raw };
  }
}

function Field({
  name,
  spec,
  value,
  error,
  onInput,
}: {
  name: string;
  spec: ColumnSchema;
  value: string;
  error: string | undefined;
  onInput(v: string): void;
}) {
  const id = `field-${name}`;
  const hint = [spec.type, spec.required ? "required" : "", spec.maxLength !== undefined ? `at most ${spec.maxLength}` : ""]
    .filter(Boolean)
    .join(", ");
  const common = {
    id,
    name,
    "aria-invalid": error ? ("true" as const) : undefined,
    "aria-describedby": error ? `${id}-error` : undefined,
  };
  let input: JSX.Element;
  if (spec.type === "boolean" || spec.enum) {
    const options = spec.enum ?? ["true", "false"];
    input = (
      <select {...common} value={value} onChange={(e) => onInput(e.currentTarget.value)}>
        <option value="">{spec.default === undefined ? "(none)" : `(default: ${toInput(spec.default)})`}</option>
        {options.map((option) => (
          <option key={option} value={option}>
            {option}
          </option>
        ))}
      </select>
    );
  } else if (spec.type === "text" || spec.type === "json" || spec.type === "array") {
    input = <textarea {...common} rows={2} value={value} onInput={(e) => onInput(e.currentTarget.value)} />;
  } else {
    const numeric = spec.type === "integer" || spec.type === "number";
    input = (
      <input
        {...common}
        type={numeric ? "number" : "text"}
        {...(numeric ? { step: spec.type === "integer" ? 1 : "any" } : {})}
        required={spec.required === true}
        value={value}
        onInput={(e) => onInput(e.currentTarget.value)}
      />
    );
  }
  return (
    <div class={error ? "field invalid" : "field"}>
      <label for={id}>
        {name} <span class="muted">({hint})</span>
      </label>
      {input}
      {error ? (
        <span class="field-error" id={`${id}-error`}>
          {error}
        </span>
      ) : null}
    </div>
  );
}

/** The form: a new row (insert) or the given row (edit with `If-Match`). */
export function RowForm({ block, table, columns, row, onSaved, onCancel }: Props) {
  const { call, client } = useSession();
  const [opened, setOpened] = useState<StoredRow | undefined>(row);
  const initial = () => Object.fromEntries(Object.keys(columns).map((name) => [name, toInput(opened?.[name])]));
  const [values, setValues] = useState<Record<string, string>>(initial);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [failure, setFailure] = useState<string | null>(null);
  const [stale, setStale] = useState(false);
  const [busy, setBusy] = useState(false);

  async function submit() {
    const data: Record<string, unknown> = {};
    const local: Record<string, string> = {};
    for (const [name, spec] of Object.entries(columns)) {
      const raw = values[name] ?? "";
      const before = opened === undefined ? "" : toInput(opened[name]);
      if (opened && raw === before) continue;
      if (raw === "") {
        if (opened) data[name] = null;
        continue;
      }
      const parsed = fromInput(spec, raw);
      if ("error" in parsed) local[name] = parsed.error;
      else data[name] = parsed.value;
    }
    setErrors(local);
    setFailure(null);
    setStale(false);
    if (Object.keys(local).length > 0) return;
    if (opened && Object.keys(data).length === 0) return setFailure("Nothing to save: no field changed.");
    setBusy(true);
    try {
      const rows = client.db(block).table(table);
      const saved = opened
        ? await call(() => rows.update(opened.id, data, { ifMatch: opened.version }))
        : await call(() => rows.insert(data));
      onSaved(saved);
    } catch (err) {
      if (err instanceof ActorbaseError && err.status === 412) setStale(true);
      else if (err instanceof ActorbaseError && err.errors) {
        const byField = { ...err.errors };
        const others = Object.keys(byField).filter((name) => !(name in columns));
        setErrors(byField);
        setFailure(others.length ? `${describe(err)} (${others.map((name) => `${name}: ${byField[name]}`).join("; ")})` : describe(err));
      } else setFailure(describe(err));
    } finally {
      setBusy(false);
    }
  }

  /** After a 412: loads the row as it is now and fills the form with it. */
  async function reopen() {
    if (!opened) return;
    try {
      const latest = await call(() => client.db(block).table(table).get(opened.id));
      setOpened(latest);
      setValues(Object.fromEntries(Object.keys(columns).map((name) => [name, toInput(latest[name])])));
      setStale(false);
    } catch (err) {
      setFailure(describe(err));
    }
  }

  return (
    <form
      class="card row-form"
      aria-label={opened ? `Edit row ${opened.id}` : "Insert a row"}
      noValidate
      onSubmit={(event) => {
        event.preventDefault();
        void submit();
      }}
    >
      <h2>{opened ? `Edit ${opened.id} (version ${opened.version})` : `New row in ${table}`}</h2>
      {stale ? (
        <div class="error" role="alert" id="stale-warning">
          <p>This row changed since you opened it (you opened version {opened?.version}); your changes were not saved.</p>
          <button type="button" onClick={() => void reopen()}>
            Load the latest version
          </button>
        </div>
      ) : null}
      <ErrorNote error={failure} />
      <div class="fields">
        {Object.entries(columns).map(([name, spec]) => (
          <Field
            key={name}
            name={name}
            spec={spec}
            value={values[name] ?? ""}
            error={errors[name]}
            onInput={(v) => setValues({ ...values, [name]: v })}
          />
        ))}
      </div>
      <div class="actions">
        <button type="submit" disabled={busy}>
          {opened ? "Save changes" : "Insert row"}
        </button>
        <button type="button" class="secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
