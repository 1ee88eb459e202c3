/**
 * The RealtimeDO's abuse limits, each documented in docs/realtime.md. An instance copies them into
 * `RealtimeDO.limits`, so tests can lower one on a single actor through `runInDurableObject`.
 */
export interface RealtimeLimits {
  /** Largest client message in UTF-8 bytes; bigger closes the socket with 1009. */
  maxMessageBytes: number;
  /** Sustained client messages per second per socket (ping excluded: the runtime answers it). */
  messagesPerSecond: number;
  /** Burst allowance above the sustained rate; going past it closes with 4429. */
  messageBurst: number;
  /** Subscriptions one socket may hold at once; more get an error message. */
  subscriptionsPerSocket: number;
  /** Presence channels one socket may join. */
  presenceChannelsPerSocket: number;
  /** Largest presence state in UTF-8 bytes of JSON. */
  maxPresenceStateBytes: number;
  /** Sockets one block's actor accepts; more are closed at once with 1013 (try again later). */
  socketsPerActor: number;
  /** How long a socket may stay connected without credentials before closing with 4408. */
  authTimeoutMs: number;
  /** Longest subscription filter, channel and event names. */
  maxFilterLength: number;
  maxNameLength: number;
  /** Rows a `snapshot` carries at most (the rest is listed over REST). */
  snapshotRows: number;
  /** Changes read from the DatabaseDO per backfill or replay page. */
  replayPageSize: number;
  /**
   * Change frames per second a block's actor sends before it spaces hand-offs, a frame counting
   * one more per 4 KiB it carries: past this budget (with one second of it as a burst), the next
   * hand-off waits off the excess, at most `maxHandOffDelayMs`, and the changes committed meanwhile
   * arrive in it together. Quiet and moderately busy blocks never wait.
   */
  deliveryFramesPerSecond: number;
  maxHandOffDelayMs: number;
}

export const DEFAULT_REALTIME_LIMITS: RealtimeLimits = {
  maxMessageBytes: 64 * 1024,
  messagesPerSecond: 50,
  messageBurst: 100,
  subscriptionsPerSocket: 100,
  presenceChannelsPerSocket: 20,
  maxPresenceStateBytes: 4 * 1024,
  socketsPerActor: 2_000,
  authTimeoutMs: 10_000,
  maxFilterLength: 2_048,
  maxNameLength: 128,
  snapshotRows: 1_000,
  replayPageSize: 500,
  deliveryFramesPerSecond: 12_000,
  maxHandOffDelayMs: 100,
};
