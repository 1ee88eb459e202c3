import { DurableObject } from "cloudflare:workers";
import config from "../../actorbase.config";
import { type Block, blockOfActor } from "../../shared/block";
import type { Caller } from "../../shared/caller";
import type { ChangesPage } from "../../shared/change";
import type { RuleOp } from "../../shared/config";
import { drain } from "../../shared/drain";
import { HttpError } from "../../shared/errors";
import { type Filter, parseListQuery, parseWriteFilter } from "../../shared/query";
import { cachedRuleFilter } from "../../shared/query-match";
import { type RpcResult, capture } from "../../shared/rpc";
import { checkRule } from "../../shared/rules";
import { parseBatch, runBatch } from "./batch";
import { RealtimeHandOff } from "./hand-off";
import { CatalogReport } from "./catalog-report";
import { exportStream } from "./block-export";
import { importStream, tableWithRows } from "./block-import";
import { appendChanges, latestSeq, readChanges, setImportedSeq, trimChanges } from "./change-log";
import type { ChangesOptions, DatabaseRpc, ImportResult, ListResult, RowResult, WriteOptions, WriteResult } from "./contract";
import { IDEMPOTENCY_TTL_MS, IdempotencyRecords, idempotentWrite } from "./idempotency";
import { IdGenerator } from "./ids";
import { listRows } from "./reads";
import { type TableRuntime, createInternalTables, isUniqueColumn, prepareTable } from "./schema";
import { type WriteSession, atIndex, checkRowCount, deleteOne, insertMany, insertOne, readableRow, updateOne } from "./writes";
import { deleteWhere, refuseIfMatch, updateWhere } from "./writes-by-filter";

/** One tenant block's SQLite store: schema, queries, writes and the ordered change log. */
export class DatabaseDO extends DurableObject<Env> implements DatabaseRpc {
  readonly #sql: SqlStorage;
  readonly #tables = new Map<string, TableRuntime | HttpError>();
  readonly #ids = new IdGenerator();
  #seq: number;
  #parsedBlock: Block | null = null;
  /** The earliest alarm this instance set (null: none known), so repeated wake-ups cost no storage call. */
  #alarmAt: number | null = null;
  /** The block's registration with its namespace's catalog and its next report. */
  readonly #catalog: CatalogReport;
  /** Committed changes on their way to the block's RealtimeDO (hand-off.ts). */
  readonly #handOff: RealtimeHandOff;
  /** An import is loading: writes are refused until it commits or fails. */
  #importing = false;
  readonly #idempotency: IdempotencyRecords;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    createInternalTables(this.#sql);
    this.#idempotency = new IdempotencyRecords(this.#sql);
    this.#seq = latestSeq(this.#sql);
    this.#handOff = new RealtimeHandOff(this.#sql, env, this.#seq, (promise) => ctx.waitUntil(promise));
    this.#catalog = new CatalogReport(this.#sql, (at) => this.#wakeAt(at));
  }

  /** `capture` with the block's current seq on failures too: every DB response carries `X-Seq`. */
  #capture<T>(body: () => T | Promise<T>): Promise<RpcResult<T>> {
    return capture(body, () => ({ "X-Seq": String(this.#seq) }));
  }

  /**
   * Lists rows with the query grammar, the read rule's filter ANDed in. Also the realtime actor's
   * snapshot: rows and `seq` come from one synchronous read, so the snapshot plus
   * `changesSince(seq)` has no gap and no overlap.
   */
  async list(caller: Caller, table: string, query: string): Promise<RpcResult<ListResult>> {
    return this.#capture(() => {
      const runtime = this.#table(table);
      const ruleFilter = this.#readFilter(caller, runtime);
      const page = listRows(this.#sql, runtime, parseListQuery(query, runtime.columns, config.limits), ruleFilter);
      return { ...page, seq: this.#seq };
    });
  }

  /** One row the caller may read (a hidden row is 404, like a missing one), with the seq it was read at. */
  async getRow(caller: Caller, table: string, id: string): Promise<RpcResult<RowResult>> {
    return this.#capture(() => {
      const runtime = this.#table(table);
      this.#blockRule(caller, table, "read");
      return { row: readableRow({ sql: this.#sql, config, caller, block: this.#block }, runtime, id), seq: this.#seq };
    });
  }

  /** Inserts one row (object body) or many (array body, all or none); `onConflict` turns it into an upsert. */
  async insert(caller: Caller, table: string, body: unknown, options: WriteOptions = {}): Promise<RpcResult<WriteResult>> {
    return this.#capture(() => {
      const runtime = this.#table(table);
      const onConflict = options.onConflict ?? null;
      if (onConflict !== null && onConflict !== "id" && !isUniqueColumn(runtime, onConflict)) {
        throw new HttpError(
          400,
          "INVALID_ON_CONFLICT",
          `onConflict must be "id" or a unique column of "${table}", got "${onConflict.slice(0, 64)}".`,
        );
      }
      const many = Array.isArray(body);
      const rows = many ? (body as unknown[]) : [body];
      if (rows.length === 0) throw new HttpError(422, "VALIDATION_FAILED", "The array is empty; send at least one row.");
      checkRowCount(rows.length, config.limits.maxRowsPerWrite);
      return this.#write(caller, options.idempotencyKey ?? null, [`insert ${table} ${onConflict}`, body], (session) => {
        if (many && onConflict === null) return { status: 201, body: { items: insertMany(session, runtime, rows, (i) => `items[${i}]`) } };
        const written = rows.map((data, i) => {
          try {
            return insertOne(session, runtime, data, onConflict);
          } catch (err) {
            throw many ? atIndex(err, `items[${i}]`) : err;
          }
        });
        const status = written.some((w) => w.created) ? 201 : 200;
        return { status, body: many ? { items: written.map((w) => w.row) } : written[0]?.row };
      });
    });
  }

  /** Partially updates a row the caller may read and update; `ifMatch` is the expected version (412 otherwise). */
  async update(caller: Caller, table: string, id: string, body: unknown, options: WriteOptions = {}): Promise<RpcResult<WriteResult>> {
    return this.#capture(() => {
      const runtime = this.#table(table);
      return this.#write(caller, options.idempotencyKey ?? null, [`update ${table} ${id} ${options.ifMatch}`, body], (session) => ({
        status: 200,
        body: updateOne(session, runtime, id, body, options.ifMatch ?? null),
      }));
    });
  }

  /** Deletes a row the caller may read and delete; answers `{id, deleted: true}`. */
  async remove(caller: Caller, table: string, id: string, options: WriteOptions = {}): Promise<RpcResult<WriteResult>> {
    return this.#capture(() => {
      const runtime = this.#table(table);
      return this.#write(caller, options.idempotencyKey ?? null, [`delete ${table} ${id} ${options.ifMatch}`, null], (session) => ({
        status: 200,
        body: deleteOne(session, runtime, id, options.ifMatch ?? null),
      }));
    });
  }

  /**
   * Applies one PATCH body to every row the filters (`query`, filters only) match and the caller may
   * read and update, all or none, one change per row; answers `{items, count}` (writes-by-filter.ts).
   */
  async updateWhere(
    caller: Caller,
    table: string,
    query: string,
    body: unknown,
    options: WriteOptions = {},
  ): Promise<RpcResult<WriteResult>> {
    return this.#capture(() => {
      const runtime = this.#table(table);
      const filter = parseWriteFilter(query, runtime.columns, config.limits);
      refuseIfMatch(options);
      return this.#write(caller, options.idempotencyKey ?? null, [`updateWhere ${table} ${query}`, body], (session) => ({
        status: 200,
        body: updateWhere(session, runtime, filter, body, config.limits.maxRowsPerWrite, options.expectRows ?? null),
      }));
    });
  }

  /** Deletes every row the filters (`query`) match and the caller may read and delete, all or none; answers `{items, count}`. */
  async deleteWhere(caller: Caller, table: string, query: string, options: WriteOptions = {}): Promise<RpcResult<WriteResult>> {
    return this.#capture(() => {
      const runtime = this.#table(table);
      const filter = parseWriteFilter(query, runtime.columns, config.limits);
      refuseIfMatch(options);
      return this.#write(caller, options.idempotencyKey ?? null, [`deleteWhere ${table} ${query}`, null], (session) => ({
        status: 200,
        body: deleteWhere(session, runtime, filter, config.limits.maxRowsPerWrite, options.expectRows ?? null),
      }));
    });
  }

  /** Runs insert/update/delete ops in one transaction, all or none; answers `{results: [...]}` in op order. */
  async batch(caller: Caller, body: unknown, options: WriteOptions = {}): Promise<RpcResult<WriteResult>> {
    return this.#capture(() => {
      const ops = parseBatch(body, config.limits.maxRowsPerWrite);
      const runtimes = ops.map((op) => this.#table(op.table));
      for (const op of ops) this.#blockRule(caller, op.table, op.op);
      return this.#write(caller, options.idempotencyKey ?? null, ["batch", body], (session) => ({
        status: 200,
        body: { results: runBatch(session, ops, runtimes) },
      }));
    });
  }

  /**
   * Changes after `since` (optionally one table), in seq order, at most `limit` (default 1,000).
   * The realtime actor backfills and resumes subscriptions with it; `oldestSeq` tells it when the
   * window no longer reaches back to `since`.
   */
  async listen(): Promise<number> {
    // Serial with the writes: every commit after this answer is handed off, so the subscription
    // that asked reads the log up to the seq answered and gets everything after it live.
    this.#handOff.listen();
    return this.#seq;
  }

  async changesSince(since: number, options: ChangesOptions = {}): Promise<ChangesPage> {
    // NaN or a fraction would reach SQLite as a non-integer (SQLITE_MISMATCH on LIMIT): clamp to integers first.
    const limit = Number.isFinite(options.limit) ? Math.max(1, Math.min(Math.floor(options.limit as number), 10_000)) : 1_000;
    const from = Number.isNaN(since) ? 0 : Math.max(0, Math.min(Math.floor(since), this.#seq));
    return readChanges(this.#sql, this.#seq, from, options.table ?? null, limit);
  }

  /** The block as NDJSON (block-export.ts): every row of every declared table, streamed a page at a time. */
  async exportBlock(): Promise<RpcResult<ReadableStream<Uint8Array>>> {
    return this.#capture(() => {
      const tables = Object.keys(config.namespaces[this.#block.namespace]?.tables ?? {}).map((name) => this.#table(name));
      return exportStream({ sql: this.#sql, block: this.#block.name, seq: () => this.#seq, tables });
    });
  }

  /**
   * Loads an export into this block, all or none: 409 unless the block holds no rows. A block that
   * never held any takes the exported seq; one whose rows were all deleted moves past its own seq
   * (with its old change log dropped), so a subscriber that saw it resets instead of missing rows.
   */
  async importBlock(body: ReadableStream<Uint8Array>): Promise<RpcResult<ImportResult>> {
    return this.#capture(async () => {
      const refuse = async (error: HttpError): Promise<never> => {
        await drain(body.getReader()); // unread: drain it, so the sender gets the answer, not a reset
        throw error;
      };
      if (this.#importing)
        await refuse(new HttpError(409, "IMPORT_IN_PROGRESS", `An import into "${this.#block.name}" is already running.`));
      const holding = tableWithRows(this.#sql);
      if (holding !== null) {
        await refuse(
          new HttpError(409, "BLOCK_NOT_EMPTY", `"${this.#block.name}" holds rows in "${holding}"; import into an empty block.`),
        );
      }
      this.#importing = true;
      try {
        const target = { storage: this.ctx.storage, table: (name: string) => this.#table(name) };
        const result = await importStream(target, body, (exported) => {
          const seq = this.#seq === 0 ? exported : Math.max(exported, this.#seq + 1);
          this.#sql.exec(`DELETE FROM _changes`);
          setImportedSeq(this.#sql, seq);
          return seq;
        });
        this.#seq = result.seq;
        this.#catalog.noteWrite(Date.now(), null);
        return result;
      } finally {
        this.#importing = false;
      }
    });
  }

  /**
   * Removes expired idempotency records, trims the change log and sends a due catalog report; then,
   * whatever happened, sets the alarm for whichever comes next. Reads the block only for a report,
   * which is due only once a request resolved it (and `_meta` remembered its name: workerd#6850
   * wakes alarms nameless).
   */
  override async alarm(): Promise<void> {
    this.#alarmAt = null;
    const now = Date.now();
    try {
      this.#idempotency.sweep(now);
      trimChanges(this.#sql, this.#seq, config.limits.changeLogSize);
      if (this.#catalog.due !== null) await this.#catalog.send(this.env, () => this.#block, this.#seq, now);
    } finally {
      const expiry = this.#idempotency.nextExpiry();
      const due = this.#catalog.due;
      const next = expiry === null ? due : due === null ? expiry : Math.min(expiry, due);
      if (next !== null) {
        this.#alarmAt = next;
        await this.ctx.storage.setAlarm(next);
      }
    }
  }

  /** Makes sure the alarm rings by `at`: an earlier one stays, a later one (or none) is moved up. */
  #wakeAt(at: number): void {
    if (this.#alarmAt !== null && this.#alarmAt <= at) return;
    this.#alarmAt = at;
    this.ctx.waitUntil(
      this.ctx.storage.getAlarm().then((current) => (current === null || current > at ? this.ctx.storage.setAlarm(at) : undefined)),
    );
  }

  /**
   * The block this actor serves, parsed at first use from the name it was reached by: the request
   * paths read it (tables, rules, the realtime hand-off), the constructor and `alarm()` never do.
   * The name is remembered in `_meta` once: an instance the runtime wakes for its alarm after a
   * restart stays without `ctx.id.name` for its whole life, requests included (workerd#6850).
   */
  get #block(): Block {
    if (this.#parsedBlock === null) {
      const stored = this.#sql.exec<{ value: string }>(`SELECT value FROM _meta WHERE key = 'block'`).toArray()[0];
      const remembered = stored ? (JSON.parse(stored.value) as Block).name : undefined;
      const block = blockOfActor("DatabaseDO", this.ctx.id.name ?? remembered, this.ctx.id, config);
      if (block.name !== remembered) this.#sql.exec(`INSERT OR REPLACE INTO _meta (key, value) VALUES ('block', ?)`, JSON.stringify(block));
      this.#parsedBlock = block;
      // A block registers with its catalog right after its first request (one that predates the
      // catalog, after its next): queued behind the request's own synchronous work, so a first
      // write is in the report. Later statistics go out from the alarm.
      if (this.#catalog.needsRegistration(Date.now())) {
        this.ctx.waitUntil(Promise.resolve().then(() => this.#catalog.send(this.env, () => this.#block, this.#seq, Date.now())));
      }
    }
    return this.#parsedBlock;
  }

  /** The table's runtime, created or migrated on first use in this wake (a refused migration stays refused). */
  #table(name: string): TableRuntime {
    let runtime = this.#tables.get(name);
    if (runtime === undefined) {
      const { namespace } = this.#block;
      const tables = config.namespaces[namespace]?.tables;
      const tableConfig = tables && Object.hasOwn(tables, name) ? tables[name] : undefined;
      if (!tableConfig)
        throw new HttpError(404, "TABLE_NOT_FOUND", `Table "${String(name).slice(0, 64)}" is not declared in namespace "${namespace}".`);
      try {
        runtime = prepareTable(this.ctx.storage, name, tableConfig);
      } catch (err) {
        if (!(err instanceof HttpError)) throw err;
        runtime = err;
      }
      this.#tables.set(name, runtime);
    }
    if (runtime instanceof HttpError) throw runtime;
    return runtime;
  }

  /** Block-level rule check inside the actor (batch ops, realtime snapshots): 401 anonymous, 403 otherwise. */
  #blockRule(caller: Caller, table: string, op: RuleOp): string | null {
    const block = this.#block;
    const decision = checkRule(config, caller, block, table, op);
    if (decision.allowed) return decision.filter;
    if (caller.kind === "anonymous") throw new HttpError(401, "AUTH_REQUIRED", `Sign in to ${op} "${table}" in "${block.name}".`);
    throw new HttpError(403, "FORBIDDEN", `The rules of "${block.namespace}" do not allow you to ${op} "${table}" in "${block.name}".`);
  }

  #readFilter(caller: Caller, table: TableRuntime): Filter | null {
    const filter = this.#blockRule(caller, table.name, "read");
    if (filter === null) return null;
    try {
      return cachedRuleFilter(filter, table.name, table.columns);
    } catch (cause) {
      throw new HttpError(
        500,
        "RULE_FILTER_INVALID",
        `The read rule of "${table.name}" returned a filter that does not parse: ${(cause as Error).message}`,
        { cause },
      );
    }
  }

  /**
   * Runs writes in one transaction with their change-log entries and idempotency record, then
   * hands the committed changes to the block's RealtimeDO without waiting for it.
   */
  #write(
    caller: Caller,
    idempotencyKey: string | null,
    request: [string, unknown],
    body: (session: WriteSession) => { status: number; body: unknown },
  ): WriteResult {
    if (this.#importing)
      throw new HttpError(409, "IMPORT_IN_PROGRESS", `An import into "${this.#block.name}" is running; write after it ends.`);
    const idempotent = idempotentWrite(caller, idempotencyKey, request);
    const replayed = idempotent === null ? null : this.#idempotency.replay(idempotent, Date.now());
    if (replayed !== null) return replayed;
    const now = Date.now();
    const session: WriteSession = {
      sql: this.#sql,
      config,
      caller,
      block: this.#block,
      now,
      ids: this.#ids,
      baseSeq: this.#seq,
      changes: [],
    };
    const started = performance.now();
    const result = this.ctx.storage.transactionSync((): WriteResult => {
      const out = body(session);
      appendChanges(this.#sql, session.changes);
      const result: WriteResult = { status: out.status, body: out.body, seq: session.baseSeq + session.changes.length };
      if (idempotent !== null) this.#idempotency.keep(idempotent, result, now);
      return result;
    });
    this.#seq = result.seq;
    result.ms = performance.now() - started;
    if (idempotent !== null) this.#wakeAt(now + IDEMPOTENCY_TTL_MS);
    if (session.changes.length > 0) this.#catalog.noteWrite(now, session.changes);
    if (this.#seq % 256 < session.changes.length) trimChanges(this.#sql, this.#seq, config.limits.changeLogSize);
    this.#handOff.publish(session.changes, this.#block.name);
    return result;
  }
}
