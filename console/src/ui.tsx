// Small shared pieces: loading state for one call, value formatting, error and status notes.
import type { ComponentChildren } from "preact";
import { useCallback, useEffect, useState } from "preact/hooks";
import { describe } from "./session";

export interface Load<T> {
  data: T | null;
  error: string | null;
  loading: boolean;
  reload(): void;
}

/** Runs `run` when `deps` change (and on `reload`), keeping its answer or its error. */
export function useLoad<T>(run: () => Promise<T>, deps: unknown[]): Load<T> {
  const [tick, setTick] = useState(0);
  // The answer remembers which deps it was for: right after they change (before the effect runs)
  // the old answer must not be shown as the new one.
  const key = JSON.stringify([...deps, tick]);
  const [state, setState] = useState<{ key: string; data: T | null; error: string | null; done: boolean }>({
    key,
    data: null,
    error: null,
    done: false,
  });
  useEffect(() => {
    let live = true;
    setState((old) => ({ ...old, key, done: false }));
    run().then(
      (data) => live && setState({ key, data, error: null, done: true }),
      (error: unknown) => live && setState({ key, data: null, error: describe(error), done: true }),
    );
    return () => {
      live = false;
    };
  }, [key]);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { data: state.data, error: state.error, loading: !state.done || state.key !== key, reload };
}

/** A value of a row as plain text (objects as JSON), cut to `max` characters. */
export function text(value: unknown, max = 80): string {
  const full = value === null || value === undefined ? "" : typeof value === "object" ? JSON.stringify(value) : String(value);
  return full.length > max ? `${full.slice(0, max - 1)}…` : full;
}

/** A time (ms since the epoch, or an ISO string) as `YYYY-MM-DD HH:MM:SS` UTC. */
export function time(at: number | string | null | undefined): string {
  const date = at === null || at === undefined ? null : new Date(at);
  return date && !Number.isNaN(date.getTime()) ? `${date.toISOString().slice(0, 19).replace("T", " ")} UTC` : "never";
}

/** A byte count as B, KiB or MiB. */
export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** An error message announced to screen readers. */
export function ErrorNote({ error }: { error: string | null | undefined }) {
  return error ? (
    <p class="error" role="alert">
      {error}
    </p>
  ) : null;
}

/** A polite status line (results of an action). */
export function Status({ children }: { children: ComponentChildren }) {
  return (
    <p class="status" role="status">
      {children}
    </p>
  );
}

/** The link to a block's table in the table browser. */
export function tableHref(block: string, table: string): string {
  return `#/tables/${encodeURIComponent(block)}/${encodeURIComponent(table)}`;
}

/** The link to a block's live tail. */
export function tailHref(block: string): string {
  return `#/tail/${encodeURIComponent(block)}`;
}
