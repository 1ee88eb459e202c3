/**
 * The demo app (docs/configuration.md, under Rules): personal notes, shared workspace tasks and public posts.
 * Edit this file to declare your own namespaces, tables, rules and rate-limit policies.
 */
import { type RuleContext, defineConfig } from "./shared/config";

/** The caller's JWT `workspaces` claim contains this workspace's id. */
function isMember({ auth, block }: RuleContext): boolean {
  const workspaces = auth?.claims.workspaces;
  return Array.isArray(workspaces) && block.id !== null && workspaces.includes(block.id);
}

/** The caller's JWT `sub` is this user block's id. */
function isOwner({ auth, block }: RuleContext): boolean {
  return auth !== null && auth.sub === block.id;
}

export default defineConfig({
  namespaces: {
    user: {
      kind: "dynamic",
      rules: { read: isOwner, write: isOwner },
      tables: {
        notes: {
          columns: {
            title: { type: "string", required: true, maxLength: 200 },
            body: { type: "text" },
            done: { type: "boolean", default: false },
            priority: { type: "integer", default: 0 },
            tags: { type: "array" },
          },
          indexes: [{ columns: ["done", "priority"] }],
          search: ["title", "body"],
        },
      },
    },
    workspace: {
      kind: "dynamic",
      rules: {
        read: isMember,
        insert: isMember,
        update: isMember,
        delete: (ctx) => isMember(ctx) && ctx.auth?.claims.role === "admin",
      },
      tables: {
        tasks: {
          columns: {
            title: { type: "string", required: true },
            status: { type: "string", enum: ["todo", "doing", "done"], default: "todo" },
            assignee: { type: "string" },
            points: { type: "integer" },
          },
        },
      },
    },
    public: {
      kind: "static",
      // Anyone may read, even anonymously; no write rule, so only the service key writes.
      rules: { read: () => true },
      tables: {
        posts: {
          columns: {
            title: { type: "string", required: true },
            body: { type: "text" },
          },
        },
      },
    },
  },
  auth: {
    // Built-in accounts (docs/auth.md): a verified email puts its owner in the workspace named by
    // the address's domain, so everyone verified at example.com shares `workspace:example.com`.
    claims: (user) => ({ workspaces: user.emailVerified && user.email ? [user.email.slice(user.email.indexOf("@") + 1)] : [] }),
    // Sign-in providers; each needs OAUTH_<NAME>_CLIENT_ID and OAUTH_<NAME>_CLIENT_SECRET (and OAUTH_OIDC_ISSUER).
    // `linkByEmail` trusts the issuer's verified emails: set it only for an issuer that checks them.
    providers: { github: { kind: "github" }, google: { kind: "google" }, oidc: { kind: "oidc", linkByEmail: true } },
  },
  rateLimits: {
    policies: {
      // Protects /api/* per caller (sub, or client IP when anonymous).
      api: { limit: 10_000, periodMs: 60_000 },
      // Signed-in callers may limit their own keys `<sub>:<anything>` with it.
      actions: { limit: 10, periodMs: 60_000, public: true },
    },
    platformPolicy: "api",
  },
});
