/**
 * A channel of a block's socket: broadcast (fire-and-forget to every other socket of the block)
 * and presence (who is here, with what state). Presence is re-announced after a reconnect; the
 * member list is rebuilt from the server's `presence.state`.
 */
import type { BroadcastEvent, ClientMessage, PresenceDiffEvent, PresenceStateEvent } from "../shared/protocol";

export type BroadcastListener = (payload: unknown, meta: { event: string; from: string }) => void;
export type PresenceListener = (members: Record<string, unknown>, diff: { joins: Record<string, unknown>; leaves: string[] }) => void;

export class Channel {
  readonly name: string;
  readonly #send: (message: ClientMessage) => boolean;
  readonly #self: () => string | null;
  readonly #broadcastListeners = new Map<string, Set<BroadcastListener>>();
  readonly #presenceListeners = new Set<PresenceListener>();
  #members: Record<string, unknown> = {};
  #state: { value: unknown } | null = null;

  constructor(name: string, send: (message: ClientMessage) => boolean, self: () => string | null) {
    this.name = name;
    this.#send = send;
    this.#self = self;
  }

  /** Sends an event to every other socket of the block; false when disconnected (not queued). */
  send(event: string, payload?: unknown): boolean {
    return this.#send({ type: "broadcast", channel: this.name, event, payload: payload ?? null });
  }

  /** Listens to one broadcast event (or `"*"` for all) on this channel. */
  on(event: string, listener: BroadcastListener): () => void {
    let set = this.#broadcastListeners.get(event);
    if (!set) this.#broadcastListeners.set(event, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  /** Joins presence with a state, or updates it; kept across reconnects until `untrack`. */
  track(state: unknown): void {
    this.#state = { value: state };
    this.#send({ type: "presence", channel: this.name, state });
  }

  /** Leaves presence. */
  untrack(): void {
    this.#state = null;
    this.#send({ type: "presence.leave", channel: this.name });
  }

  /** The current members by connection id (this socket included once it tracks). */
  members(): Record<string, unknown> {
    return { ...this.#members };
  }

  /** Called with the member list after every presence change. */
  onPresence(listener: PresenceListener): () => void {
    this.#presenceListeners.add(listener);
    return () => this.#presenceListeners.delete(listener);
  }

  /** @internal */
  handle(message: BroadcastEvent | PresenceDiffEvent | PresenceStateEvent): void {
    if (message.type === "broadcast") {
      for (const key of [message.event, "*"]) {
        for (const listener of this.#broadcastListeners.get(key) ?? [])
          listener(message.payload, { event: message.event, from: message.from });
      }
      return;
    }
    if (message.type === "presence.state") {
      const previous = this.#members;
      this.#members = { ...message.members };
      const leaves = Object.keys(previous).filter((id) => !(id in this.#members));
      return this.#emit({ joins: message.members, leaves });
    }
    for (const id of message.leaves) delete this.#members[id];
    Object.assign(this.#members, message.joins);
    this.#emit({ joins: message.joins, leaves: message.leaves });
  }

  /** @internal After a reconnect: announce our state again (the server sends `presence.state`). */
  rejoin(): void {
    if (this.#state) this.#send({ type: "presence", channel: this.name, state: this.#state.value });
  }

  /** @internal The socket dropped: our view of the members is stale until we rejoin. */
  disconnected(): void {
    const self = this.#self();
    if (self) delete this.#members[self];
  }

  #emit(diff: { joins: Record<string, unknown>; leaves: string[] }): void {
    for (const listener of this.#presenceListeners) listener(this.members(), diff);
  }
}
