/**
 * Type tests for `createClient<typeof config>`: they are checked by `npm run typecheck` (tsc compiles
 * test/). At run time they only build a client and call nothing, so they pass harmlessly in workerd.
 */
import { describe, expectTypeOf, it } from "vitest";
import type config from "../actorbase.config";
import {
  type BlockClient,
  type DeclaredConfig,
  type Row,
  type Stored,
  type TableChange,
  type TableClient,
  type TableInsert,
  createClient,
} from "../client/index";

type Declared = DeclaredConfig<typeof config>;

const client = createClient<typeof config>({ url: "http://127.0.0.1:1", token: "t" });
const untyped = createClient({ url: "http://127.0.0.1:1", token: "t" });

/** Type-level only: the function is never called, so no request is sent. */
function never(_run: () => Promise<unknown>): void {}

describe("typed client", () => {
  it("keeps the declared column types through defineConfig", () => {
    type Notes = Declared["namespaces"]["user"]["tables"]["notes"]["columns"];
    expectTypeOf<Notes["title"]["type"]>().toEqualTypeOf<"string">();
    expectTypeOf<Notes["title"]["required"]>().toEqualTypeOf<true>();
    expectTypeOf<Declared["namespaces"]["public"]["kind"]>().toEqualTypeOf<"static">();
  });

  it("types a declared table's rows, inserts and patches from its columns", () => {
    const notes = client.db("user:alice").table("notes");
    type Note = Awaited<ReturnType<typeof notes.get>>;
    expectTypeOf<Note["id"]>().toEqualTypeOf<string>();
    expectTypeOf<Note["createdAt"]>().toEqualTypeOf<number>();
    expectTypeOf<Note["updatedAt"]>().toEqualTypeOf<number>();
    expectTypeOf<Note["version"]>().toEqualTypeOf<number>();
    expectTypeOf<Note["title"]>().toEqualTypeOf<string>();
    expectTypeOf<Note["body"]>().toEqualTypeOf<string | null>();
    expectTypeOf<Note["done"]>().toEqualTypeOf<boolean | null>();
    expectTypeOf<Note["priority"]>().toEqualTypeOf<number | null>();
    expectTypeOf<Note["tags"]>().toEqualTypeOf<unknown[] | null>();

    type Patch = Parameters<typeof notes.updateWhere>[1];
    expectTypeOf<Patch>().toEqualTypeOf<{
      title?: string;
      body?: string | null;
      done?: boolean | null;
      priority?: number | { $inc: number } | null;
      tags?: unknown[] | { $append: unknown } | null;
    }>();
    expectTypeOf<TableInsert<Declared["namespaces"]["user"]["tables"]["notes"]>>().toEqualTypeOf<{
      title: string;
      body?: string | null;
      done?: boolean | null;
      priority?: number | null;
      tags?: unknown[] | null;
      id?: string;
    }>();

    never(async () => {
      const row = await notes.insert({ title: "Plan", priority: 2, tags: ["a"] });
      expectTypeOf(row.title).toEqualTypeOf<string>();
      expectTypeOf(row.version).toEqualTypeOf<number>();
      await notes.insert([{ title: "a" }, { title: "b", id: "n1" }]);
      const page = await notes.list("done=eq.false");
      expectTypeOf(page.items[0]?.priority).toEqualTypeOf<number | null | undefined>();
      await notes.update(row.id, { priority: { $inc: 1 }, done: true });
      const where = await notes.updateWhere({ done: "eq.false" }, { done: true });
      expectTypeOf(where.items[0]?.done).toEqualTypeOf<boolean | null | undefined>();
      await notes.deleteWhere("done=eq.true");
      await notes.delete(row.id);
      notes.subscribe("", (change) => expectTypeOf(change.row.title).toEqualTypeOf<string>());

      // @ts-expect-error a column typo
      await notes.insert({ titel: "Plan" });
      // @ts-expect-error a required column without a default is missing
      await notes.insert({ body: "no title" });
      // @ts-expect-error a wrong value type
      await notes.insert({ title: "Plan", priority: "high" });
      // @ts-expect-error a required column cannot be set to null
      await notes.update(row.id, { title: null });
      // @ts-expect-error $inc applies to numbers only
      await notes.updateWhere("done=eq.false", { title: { $inc: 1 } });
      // @ts-expect-error a column typo when reading a change
      notes.subscribe("", (change) => change.row.titel);
    });
  });

  it("checks block names against the namespaces and table names against each namespace", () => {
    const sub: string = "alice";
    expectTypeOf(client.db(`user:${sub}`).table("notes").get).returns.resolves.toHaveProperty("title");
    expectTypeOf(client.db("workspace:example.com").table("tasks").get).returns.resolves.toHaveProperty("status");
    expectTypeOf(client.db("public").table("posts").get).returns.resolves.toHaveProperty("body");
    expectTypeOf(client.db("public").name).toEqualTypeOf<string>();

    // @ts-expect-error an unknown table
    client.db("user:alice").table("posts");
    // @ts-expect-error a table of another namespace
    client.db("public").table("notes");
    // @ts-expect-error a block in an undeclared namespace
    client.db("team:red");
    // @ts-expect-error a static namespace with an id
    client.db("public:alice");
    // @ts-expect-error a dynamic namespace without an id
    client.db("user");
  });

  it("stays untyped without the type argument", () => {
    expectTypeOf(untyped.db("anything")).toEqualTypeOf<BlockClient>();
    expectTypeOf(untyped.db("user:alice").table("notes")).toEqualTypeOf<TableClient<Row>>();
    interface Note {
      title: string;
      priority?: number;
    }
    const notes = untyped.db("user:alice").table<Note>("notes");
    expectTypeOf(notes.get).returns.resolves.toEqualTypeOf<Stored<Note>>();
    expectTypeOf(notes.update).parameter(1).toEqualTypeOf<Record<string, unknown>>();
    notes.subscribe("", (change: TableChange<Note>) => change.row.title);
  });
});
