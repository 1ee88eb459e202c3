/**
 * Presence per channel: who is here and with what state. Members are rows in the actor's SQLite
 * keyed by connection id, so they survive hibernation; a joiner first gets the whole channel
 * (`presence.state`), the other members get `joins`/`leaves` diffs. Members whose socket is gone
 * (closed, errored, or lost in a restart) are removed and announced as leaves.
 */
import type { Connection } from "./connection";
import { send } from "./connection";
import type { RealtimeStore } from "./store";

export class Presence {
  readonly #store: RealtimeStore;
  readonly #lookup: (id: string) => Connection | undefined;

  constructor(store: RealtimeStore, lookup: (id: string) => Connection | undefined) {
    this.#store = store;
    this.#lookup = lookup;
  }

  /** Rebuilds each connection's channel set from SQLite and sweeps ghosts (rows without a socket). */
  restore(): void {
    const ghosts = new Map<string, string[]>();
    for (const row of this.#store.presence()) {
      const conn = this.#lookup(row.conn);
      if (conn) {
        conn.channels.add(row.channel);
      } else {
        this.#store.removePresence(row.channel, row.conn);
        ghosts.set(row.channel, [...(ghosts.get(row.channel) ?? []), row.conn]);
      }
    }
    for (const [channel, leaves] of ghosts) this.#announce(channel, null, { type: "presence", channel, joins: {}, leaves });
  }

  /** Joins a channel or updates this connection's state in it. */
  join(conn: Connection, channel: string, stateJson: string): void {
    const joined = !conn.channels.has(channel);
    this.#store.setPresence(channel, conn.id, stateJson);
    conn.channels.add(channel);
    if (joined) {
      const members = this.#store
        .members(channel)
        .map((m) => `${JSON.stringify(m.conn)}:${m.state}`)
        .join(",");
      send(conn, `{"type":"presence.state","channel":${JSON.stringify(channel)},"members":{${members}}}`);
    }
    const diff = `{"type":"presence","channel":${JSON.stringify(channel)},"joins":{${JSON.stringify(conn.id)}:${stateJson}},"leaves":[]}`;
    this.#announceFrame(channel, conn, diff);
  }

  /** Leaves one channel (no-op when not a member). */
  leave(conn: Connection, channel: string): void {
    if (!conn.channels.delete(channel)) return;
    this.#store.removePresence(channel, conn.id);
    this.#announce(channel, conn, { type: "presence", channel, joins: {}, leaves: [conn.id] });
  }

  /** Leaves every channel: the socket closed or errored. */
  leaveAll(conn: Connection): void {
    for (const channel of [...conn.channels]) this.leave(conn, channel);
  }

  #announce(channel: string, except: Connection | null, message: unknown): void {
    this.#announceFrame(channel, except, JSON.stringify(message));
  }

  #announceFrame(channel: string, except: Connection | null, frame: string): void {
    for (const member of this.#store.members(channel)) {
      const other = this.#lookup(member.conn);
      if (other && other !== except) send(other, frame);
    }
  }
}
