import { describe, expect, it } from "vitest";
import { type ActorbaseConfig, ConfigError, DEFAULT_LIMITS, defineConfig } from "../shared/config";
import config from "../actorbase.config";

const valid = (): ActorbaseConfig => ({
  namespaces: { app: { kind: "dynamic", tables: { items: { columns: { title: { type: "string", required: true } } } } } },
});

function withColumn(column: string, spec: unknown): ActorbaseConfig {
  const c = valid();
  (c.namespaces.app!.tables.items!.columns as Record<string, unknown>)[column] = spec;
  return c;
}

describe("defineConfig", () => {
  it("accepts the shipped demo app and fills in the default limits", () => {
    expect(Object.keys(config.namespaces)).toEqual(["user", "workspace", "public"]);
    expect(config.limits).toEqual(DEFAULT_LIMITS);
    expect(config.rateLimits.platformPolicy).toBe("api");
    expect(config.rateLimits.policies.actions).toMatchObject({ limit: 10, periodMs: 60_000, public: true });
  });

  it.each([
    [
      "a system column",
      "createdAt",
      { type: "integer" },
      'namespace "app", table "items", column "createdAt": "createdAt" is a system column',
    ],
    ["the id column", "id", { type: "string" }, 'column "id": "id" is a system column'],
    ["a reserved word", "order", { type: "string" }, 'column "order": "order" is a reserved word'],
    ["an unknown type", "when", { type: "date" }, 'column "when": unknown type "date"'],
    ["a bad default", "count2", { type: "integer", default: "many" }, 'column "count2": bad default "many": must be an integer'],
    [
      "a default outside the enum",
      "state",
      { type: "string", enum: ["a", "b"], default: "c" },
      'column "state": bad default "c": must be one of a, b',
    ],
    ["a default over maxLength", "code", { type: "string", maxLength: 2, default: "abc" }, "must be at most 2 characters"],
    ["a name differing only in case", "Title", { type: "string" }, 'column "Title": duplicate column name'],
    ["a SQL-looking name", "x; DROP TABLE items", { type: "string" }, "column names are letters, digits and _"],
    ["an underscore-prefixed name", "_internal", { type: "string" }, "column names are letters, digits and _, starting with a letter"],
  ])("refuses %s, naming namespace, table and column", (_name, column, spec, message) => {
    expect(() => defineConfig(withColumn(column, spec))).toThrowError(ConfigError);
    expect(() => defineConfig(withColumn(column, spec))).toThrowError(message);
  });

  it("refuses duplicate table names that differ only in case", () => {
    const c = valid();
    c.namespaces.app!.tables.Items = { columns: {} };
    expect(() => defineConfig(c)).toThrowError('namespace "app", table "Items": duplicate table name');
  });

  it("refuses a table with more columns than one SQLite statement can bind", () => {
    const c = valid();
    for (let i = 0; i < 90; i++) (c.namespaces.app!.tables.items!.columns as Record<string, unknown>)[`c${i}`] = { type: "integer" };
    expect(() => defineConfig(c)).toThrowError('namespace "app", table "items": at most 90 columns per table');
  });

  it("refuses indexes and search on unknown or non-text columns", () => {
    const c = valid();
    c.namespaces.app!.tables.items!.indexes = [{ columns: ["nope"] }];
    expect(() => defineConfig(c)).toThrowError('table "items", index 0: unknown column "nope"');
    const d = withColumn("n", { type: "integer" });
    d.namespaces.app!.tables.items!.search = ["n"];
    expect(() => defineConfig(d)).toThrowError('search: column "n" must be string or text');
  });

  it("refuses a bad namespace name or kind", () => {
    expect(() => defineConfig({ namespaces: { "Bad:Name": { kind: "static", tables: {} } } })).toThrowError('namespace "Bad:Name"');
    expect(() => defineConfig({ namespaces: { app: { kind: "global" as "static", tables: {} } } })).toThrowError(
      'namespace "app": kind must be',
    );
  });

  it("refuses rules that are not functions or name unknown operations", () => {
    const c = valid();
    c.namespaces.app!.rules = { read: "yes" as never };
    expect(() => defineConfig(c)).toThrowError('namespace "app", rules.read: must be a function');
    const d = valid();
    d.namespaces.app!.rules = { list: () => true } as never;
    expect(() => defineConfig(d)).toThrowError('unknown operation "list"');
  });

  it("refuses invalid rate-limit policies and a platform policy that does not exist", () => {
    expect(() => defineConfig({ ...valid(), rateLimits: { policies: { api: { limit: 0, periodMs: 1000 } } } })).toThrowError(
      "rateLimits.policies.api: limit must be a positive integer",
    );
    expect(() =>
      defineConfig({ ...valid(), rateLimits: { policies: { api: { limit: 5, periodMs: 1000, algorithm: "leaky" as "gcra" } } } }),
    ).toThrowError('unknown algorithm "leaky"');
    expect(() => defineConfig({ ...valid(), rateLimits: { policies: {}, platformPolicy: "api" } })).toThrowError(
      'platformPolicy names "api"',
    );
  });

  it("spreads rate-limit keys over 64 shards unless told, and refuses a shard count that is not 0 to 4,096", () => {
    expect(defineConfig(valid()).rateLimits.shards).toBe(64);
    expect(defineConfig({ ...valid(), rateLimits: { shards: 0 } }).rateLimits.shards).toBe(0);
    for (const shards of [-1, 1.5, 4_097, Number.NaN]) {
      expect(() => defineConfig({ ...valid(), rateLimits: { shards } })).toThrowError(
        "rateLimits.shards must be an integer from 0 to 4096",
      );
    }
  });

  it("refuses limits below the contract's floor", () => {
    expect(() => defineConfig({ ...valid(), limits: { maxRowsPerWrite: 10 } })).toThrowError("maxRowsPerWrite must be at least 1000");
    expect(() => defineConfig({ ...valid(), limits: { maxPageSize: -1 } })).toThrowError("limits.maxPageSize must be a positive integer");
  });
});
