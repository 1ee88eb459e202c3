/** The AccountDO's tables and how a stored account becomes the user the API answers. */
import type { AuthUser } from "../../shared/config";
import type { AccountView } from "./contract";

export const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS account (
     id TEXT PRIMARY KEY, email TEXT, email_verified INTEGER NOT NULL, anonymous INTEGER NOT NULL,
     password TEXT, data TEXT NOT NULL, created_at INTEGER NOT NULL, disabled INTEGER NOT NULL DEFAULT 0)`,
  `CREATE TABLE IF NOT EXISTS sessions (
     id TEXT PRIMARY KEY, refresh_hash TEXT NOT NULL, created_at INTEGER NOT NULL,
     refreshed_at INTEGER NOT NULL, ended_at INTEGER, end_reason TEXT)`,
  // Refresh tokens already spent, by session: one presented again ends its session.
  "CREATE TABLE IF NOT EXISTS spent_refresh (hash TEXT PRIMARY KEY, session_id TEXT NOT NULL, spent_at INTEGER NOT NULL)",
  "CREATE TABLE IF NOT EXISTS email_tokens (hash TEXT PRIMARY KEY, kind TEXT NOT NULL, expires_at INTEGER NOT NULL, used_at INTEGER)",
];

/**
 * Brings the tables of an account made by an earlier version up to date; run on wake, only when
 * the account exists (an actor with no account keeps no tables). `disabled` came after the first release.
 */
export function migrate(sql: SqlStorage): void {
  const columns = sql.exec<{ name: string }>("SELECT name FROM pragma_table_info('account')").toArray();
  if (!columns.some((column) => column.name === "disabled")) sql.exec("ALTER TABLE account ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0");
}

export interface AccountRow extends Record<string, SqlStorageValue> {
  id: string;
  email: string | null;
  email_verified: number;
  anonymous: number;
  password: string | null;
  data: string;
  created_at: number;
  disabled: number;
}

export interface SessionRow extends Record<string, SqlStorageValue> {
  id: string;
  refresh_hash: string;
  created_at: number;
  refreshed_at: number;
  ended_at: number | null;
  end_reason: string | null;
}

/** The user as the API shows it: never the password hash. */
export function toUser(row: AccountRow): AuthUser {
  return {
    id: row.id,
    email: row.email,
    emailVerified: row.email_verified === 1,
    anonymous: row.anonymous === 1,
    createdAt: new Date(row.created_at).toISOString(),
    data: JSON.parse(row.data) as Record<string, unknown>,
  };
}

/** The account as the operator routes show it: the user, the disabled flag and the live sessions. */
export function toAccountView(row: AccountRow, liveSessions: number): AccountView {
  return { ...toUser(row), disabled: row.disabled === 1, sessions: liveSessions };
}
