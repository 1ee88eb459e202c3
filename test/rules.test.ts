import { describe, expect, it } from "vitest";
import config from "../actorbase.config";
import { parseBlock } from "../shared/block";
import type { Caller } from "../shared/caller";
import { defineConfig } from "../shared/config";
import { checkRule } from "../shared/rules";

const user = (sub: string, claims: Record<string, unknown> = {}): Caller => ({
  kind: "user",
  sub,
  claims: { sub, ...claims },
  expiresAt: Date.now() + 60_000,
});
const anonymous: Caller = { kind: "anonymous", ip: "203.0.113.9" };
const service: Caller = { kind: "service" };
const allowed = (caller: Caller, block: string, table: string, op: "read" | "insert" | "update" | "delete") =>
  checkRule(config, caller, parseBlock(block, config), table, op).allowed;

describe("demo rules: user:<id>", () => {
  it("lets only the caller whose sub is the id read and write", () => {
    for (const op of ["read", "insert", "update", "delete"] as const) {
      expect(allowed(user("alice"), "user:alice", "notes", op)).toBe(true);
      expect(allowed(user("bob"), "user:alice", "notes", op)).toBe(false);
      expect(allowed(anonymous, "user:alice", "notes", op)).toBe(false);
    }
  });
});

describe("demo rules: workspace:<id>", () => {
  it("lets members read, insert and update, and only admin members delete", () => {
    const member = user("carol", { workspaces: ["ws_42", "ws_7"] });
    const admin = user("dave", { workspaces: ["ws_42"], role: "admin" });
    for (const op of ["read", "insert", "update"] as const) {
      expect(allowed(member, "workspace:ws_42", "tasks", op)).toBe(true);
      expect(allowed(user("eve", { workspaces: ["ws_1"] }), "workspace:ws_42", "tasks", op)).toBe(false);
    }
    expect(allowed(member, "workspace:ws_42", "tasks", "delete")).toBe(false);
    expect(allowed(admin, "workspace:ws_42", "tasks", "delete")).toBe(true);
    expect(allowed(user("mallory", { role: "admin" }), "workspace:ws_42", "tasks", "delete")).toBe(false);
  });

  it("does not accept a workspaces claim that is a string instead of an array", () => {
    expect(allowed(user("eve", { workspaces: "ws_42" }), "workspace:ws_42", "tasks", "read")).toBe(false);
  });
});

describe("demo rules: public", () => {
  it("lets anyone read, even anonymously, and nobody but the service key write", () => {
    expect(allowed(anonymous, "public", "posts", "read")).toBe(true);
    expect(allowed(user("alice"), "public", "posts", "read")).toBe(true);
    for (const op of ["insert", "update", "delete"] as const) {
      expect(allowed(anonymous, "public", "posts", op)).toBe(false);
      expect(allowed(user("alice"), "public", "posts", op)).toBe(false);
      expect(allowed(service, "public", "posts", op)).toBe(true);
    }
  });
});

describe("rules engine", () => {
  const base = { columns: { title: { type: "string" as const } } };
  const app = defineConfig({
    namespaces: {
      open: { kind: "static", tables: { items: base } },
      broken: {
        kind: "static",
        rules: {
          read: () => {
            throw new Error("boom");
          },
        },
        tables: { items: base },
      },
      owned: {
        kind: "dynamic",
        rules: { read: ({ auth }) => (auth ? `owner=eq.${auth.sub}` : false), write: () => true },
        tables: { items: { ...base, rules: { delete: () => false } } },
      },
    },
  });
  const check = (caller: Caller, block: string, op: "read" | "insert" | "update" | "delete") =>
    checkRule(app, caller, parseBlock(block, app), "items", op);

  it("denies by default when no rule exists, except for the service key", () => {
    expect(check(user("a"), "open", "read")).toEqual({ allowed: false });
    expect(check(service, "open", "delete")).toEqual({ allowed: true, filter: null });
  });

  it("denies when a rule throws", () => {
    expect(check(user("a"), "broken", "read")).toEqual({ allowed: false });
  });

  it("returns a rule's filter for row-level enforcement", () => {
    expect(check(user("a"), "owned:x", "read")).toEqual({ allowed: true, filter: "owner=eq.a" });
  });

  it("lets a table rule override the namespace rule and `write` stand in for insert and update", () => {
    expect(check(user("a"), "owned:x", "insert")).toEqual({ allowed: true, filter: null });
    expect(check(user("a"), "owned:x", "update")).toEqual({ allowed: true, filter: null });
    expect(check(user("a"), "owned:x", "delete")).toEqual({ allowed: false });
  });
});
