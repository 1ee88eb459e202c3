/**
 * Types from the app's config, without code generation: `createClient<typeof config>({ url })`, where
 * `config` is `actorbase.config.ts`'s default export, checks block names against the namespaces and
 * types each table's rows, inserts and patches from its declared columns. Types only: nothing here runs.
 */
import type { ActorbaseConfig, ColumnConfig, TableConfig } from "../shared/config";
import type { BlockClient, TableClient } from "./index";
import type { SystemColumns } from "./rest";

/** The config `defineConfig` was given (carried by its result's type), or `never` for anything else. */
export type DeclaredConfig<Config> = Config extends { readonly "~declared"?: infer C } ? (C extends ActorbaseConfig ? C : never) : never;

/** Block names a config allows: `user:${string}` for a dynamic namespace, `public` for a static one. */
export type BlockName<C extends ActorbaseConfig> = {
  [N in keyof C["namespaces"] & string]: C["namespaces"][N]["kind"] extends "static" ? N : `${N}:${string}`;
}[keyof C["namespaces"] & string];

/** The namespace part of a block name (`user` of `user:alice`). */
type NamespaceOf<B extends string> = B extends `${infer N}:${string}` ? N : B;

/** The tables of the namespace a block belongs to. */
export type TablesOf<C extends ActorbaseConfig, B extends string> = C["namespaces"][NamespaceOf<B> & keyof C["namespaces"]]["tables"];

/** What each column type reads and writes as in JSON. */
interface ColumnValues {
  string: string;
  text: string;
  integer: number;
  number: number;
  boolean: boolean;
  json: unknown;
  array: unknown[];
}

/** Each column's value: its type's, or `null` too unless the column is `required` (a mapped type, so editors show the result). */
type Values<Columns extends Record<string, ColumnConfig>> = {
  [K in keyof Columns]: ColumnValues[Columns[K]["type"]] | (Columns[K] extends { required: true } ? never : null);
};

/** Field operations a PATCH may use instead of a value: `$inc` on numbers, `$append` on arrays. */
type FieldOperation<Column extends ColumnConfig> = Column["type"] extends "integer" | "number"
  ? { $inc: number }
  : Column["type"] extends "array"
    ? { $append: unknown }
    : never;

/** Flattens an intersection so editors show one object type. */
type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** Columns an insert must supply: required and without a default. */
type InsertRequired<Columns> = {
  [K in keyof Columns]: Columns[K] extends { required: true } ? (Columns[K] extends { default: unknown } ? never : K) : never;
}[keyof Columns];

/** A stored row of a declared table: the system columns and every declared column. */
export type TableRow<T extends TableConfig> = Simplify<SystemColumns & Values<T["columns"]>>;

/** An insert into a declared table: required columns without a default must be there, the rest (and `id`) may. */
export type TableInsert<T extends TableConfig> = Simplify<
  { [K in InsertRequired<T["columns"]>]: Values<T["columns"]>[K] } & {
    [K in Exclude<keyof T["columns"], InsertRequired<T["columns"]>>]?: Values<T["columns"]>[K];
  } & { id?: string }
>;

/** A patch of a declared table: any columns, each a value or a field operation. */
export type TablePatch<T extends TableConfig> = {
  [K in keyof T["columns"]]?: Values<T["columns"]>[K] | FieldOperation<T["columns"][K]>;
};

/** A declared table of a typed client: REST calls and subscriptions with its row, insert and patch types. */
export type TypedTable<T extends TableConfig> = TableClient<TableRow<T>, TableInsert<T>, TablePatch<T>, TableRow<T>>;

/** A block of a typed client: `table(name)` accepts the namespace's tables only. */
export type TypedBlock<Tables extends Record<string, TableConfig>> = Omit<BlockClient, "table"> & {
  /** A declared table of the block, typed by its columns. */
  table<N extends keyof Tables & string>(name: N): TypedTable<Tables[N]>;
};

/** The block names `db` accepts: any string for an untyped client, the config's namespaces for a typed one. */
export type BlockNameFor<Config> = [DeclaredConfig<Config>] extends [never] ? string : BlockName<DeclaredConfig<Config>>;

/** What `db(block)` returns: `BlockClient` for an untyped client, a `TypedBlock` for a typed one. */
export type BlockFor<Config, B extends string> = [DeclaredConfig<Config>] extends [never]
  ? BlockClient
  : TypedBlock<TablesOf<DeclaredConfig<Config>, B>>;
