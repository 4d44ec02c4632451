import { type RawBuilder, sql } from "kysely";
import { providerWindowCtes } from "../budgets/providerBudgets.ts";
import { now } from "../clock.ts";
import type { SpendlensConfig } from "../config/config.ts";
import type { Db } from "../db/connect.ts";
import { badRequest, forbidden } from "../errors.ts";
import { providerResolver } from "../providers/resolve.ts";
import { foldRollupsSoon } from "../rollups/fold.ts";
import { type Scope, scopeUserId } from "../scope.ts";
import { foldSpendCountersSoon, spendCounterCtes } from "../spend/counters.ts";
import {
  type Column,
  diffStored,
  encodeColumns,
  insertCte,
  isRetryable,
  tableColumns,
  typedRows,
} from "./idempotent.ts";
import {
  checkErrorLogRow,
  checkSpendLogRow,
  MAYBE_UNSTORABLE_JSON,
  type RowCheck,
  UNSTORABLE_REASON,
  unstorableField,
  type WireRow,
} from "./validate.ts";

/** Most rows one ingest call takes. */
export const MAX_INGEST_BATCH = 1000;

export interface IngestConflict {
  request_id: string;
  /** The columns whose stored value differs from the row sent. */
  fields: string[];
}

export interface IngestInvalidRow {
  /** Position of the row in `logs` (0-based). */
  index: number;
  request_id: string | null;
  /** The row's field at fault (e.g. `spend`), or null for the row as a whole. */
  field: string | null;
  reason: string;
}

export interface IngestResult {
  received: number;
  /** Rows newly stored (and counted). */
  inserted: number;
  /** request_ids already stored with the same content: counted once, nothing changed. */
  duplicates: string[];
  /** request_ids already stored with different content: nothing changed. */
  conflicts: IngestConflict[];
  /** Rows that failed validation, by index; the other rows were stored. */
  invalid: IngestInvalidRow[];
}

export interface SpendIngestResult extends IngestResult {
  /** Sum of the spend of the rows inserted (what the counters were incremented by). */
  spend_added: number;
  /** Spend added to each provider's current budget window. */
  provider_spend_added: Record<string, number>;
}

const SPEND_LOG_COLUMNS: Column[] = [
  { name: "request_id", type: "text" },
  { name: "call_type", type: "text" },
  { name: "api_key", type: "text" },
  { name: "spend", type: "float8" },
  { name: "total_tokens", type: "int4" },
  { name: "prompt_tokens", type: "int4" },
  { name: "completion_tokens", type: "int4" },
  { name: "startTime", type: "timestamp" },
  { name: "endTime", type: "timestamp" },
  { name: "model", type: "text" },
  { name: "model_id", type: "text" },
  { name: "model_group", type: "text" },
  { name: "custom_llm_provider", type: "text" },
  { name: "api_base", type: "text" },
  { name: "user", type: "text" },
  { name: "metadata", type: "jsonb" },
  { name: "cache_hit", type: "text" },
  { name: "request_tags", type: "jsonb" },
  { name: "team_id", type: "text" },
  { name: "end_user", type: "text" },
];
/** LiteLLM columns stored when the table has them (an older attached database may lack some). */
const OPTIONAL_SPEND_LOG_COLUMNS: Column[] = [
  { name: "completionStartTime", type: "timestamp" },
  { name: "cache_key", type: "text" },
  { name: "organization_id", type: "text" },
  { name: "requester_ip_address", type: "text" },
  { name: "session_id", type: "text" },
  { name: "status", type: "text" },
  { name: "messages", type: "jsonb" },
  { name: "response", type: "jsonb" },
];

const ERROR_LOG_COLUMNS: Column[] = [
  { name: "request_id", type: "text" },
  { name: "startTime", type: "timestamp" },
  { name: "endTime", type: "timestamp" },
  { name: "api_base", type: "text" },
  { name: "model_group", type: "text" },
  { name: "litellm_model_name", type: "text" },
  { name: "model_id", type: "text" },
  { name: "request_kwargs", type: "jsonb" },
  { name: "exception_type", type: "text" },
  { name: "exception_string", type: "text" },
  { name: "status_code", type: "text" },
];

/** A valid row: its position in `logs` and its wire form (with `i`, the position, added). */
interface Valid {
  index: number;
  row: WireRow;
}

interface Parsed {
  valid: Valid[];
  invalid: IngestInvalidRow[];
}

const requestIdOf = (raw: unknown): string | null =>
  raw && typeof raw === "object" && typeof (raw as { request_id?: unknown }).request_id === "string"
    ? (raw as { request_id: string }).request_id
    : null;

/** Validates every row (one pass each; zod only for rows the fast check is unsure about). */
function parseRows(
  logs: unknown[],
  checkRow: (raw: unknown) => RowCheck,
  extra?: (row: WireRow) => { field: string; reason: string } | null,
): Parsed {
  const out: Parsed = { valid: [], invalid: [] };
  for (let index = 0; index < logs.length; index++) {
    const raw = logs[index];
    const c = checkRow(raw);
    if (!c.ok) {
      out.invalid.push({ index, request_id: requestIdOf(raw), field: c.field, reason: c.reason });
      continue;
    }
    const bad = extra?.(c.row);
    if (bad) {
      out.invalid.push({
        index,
        request_id: requestIdOf(raw),
        field: bad.field,
        reason: `${bad.field}: ${bad.reason}`,
      });
      continue;
    }
    c.row.i = index;
    out.valid.push({ index, row: c.row });
  }
  return out;
}

function checkBatch(logs: unknown[]): void {
  if (!Array.isArray(logs) || logs.length < 1) throw badRequest("logs", "logs: must hold at least one row");
  if (logs.length > MAX_INGEST_BATCH) {
    throw badRequest("logs", `logs: at most ${MAX_INGEST_BATCH} rows per call (got ${logs.length})`);
  }
}

/** Rows Postgres could not store are reported invalid (naming the field) instead of failing the batch. */
function dropUnstorable(parsed: Parsed): void {
  const keep: Valid[] = [];
  for (const v of parsed.valid) {
    const field = unstorableField(v.row);
    if (field === null) keep.push(v);
    else {
      parsed.invalid.push({
        index: v.index,
        request_id: v.row.request_id as string,
        field,
        reason: `${field}: ${UNSTORABLE_REASON}`,
      });
    }
  }
  parsed.valid = keep;
  parsed.invalid.sort((a, b) => a.index - b.index);
}

/** The first valid row per request_id is offered for insert; later ones in the batch are compared. */
function splitRepeats(valid: Valid[]): { offered: Valid[]; repeats: Valid[] } {
  const seen = new Set<string>();
  const offered: Valid[] = [];
  const repeats: Valid[] = [];
  for (const v of valid) {
    const id = v.row.request_id as string;
    if (seen.has(id)) repeats.push(v);
    else {
      seen.add(id);
      offered.push(v);
    }
  }
  return { offered, repeats };
}

/** Extra fields of the statement's rows: the row's index in `logs`, and its budgeted provider (or null). */
const EXTRA: Column[] = [
  { name: "i", type: "int4" },
  { name: "p", type: "text" },
];

/**
 * The rows to offer and to compare, and the offered rows' columns encoded, after making sure Postgres can
 * store them: one regex over each encoded column finds any escaped NUL or unpaired surrogate; only then
 * are the rows checked one by one (and those at fault reported invalid).
 */
function prepare(parsed: Parsed, cols: Column[]): { offered: Valid[]; repeats: Valid[]; encoded: string[] } {
  const all = [...EXTRA, ...cols];
  let split = splitRepeats(parsed.valid);
  let encoded = encodeColumns(
    split.offered.map((v) => v.row),
    all,
  );
  const suspicious =
    encoded.some((e) => MAYBE_UNSTORABLE_JSON.test(e)) ||
    (split.repeats.length > 0 &&
      encodeColumns(
        split.repeats.map((v) => v.row),
        all,
      ).some((e) => MAYBE_UNSTORABLE_JSON.test(e)));
  if (suspicious) {
    const before = parsed.valid.length;
    dropUnstorable(parsed);
    if (parsed.valid.length !== before) {
      split = splitRepeats(parsed.valid);
      encoded = encodeColumns(
        split.offered.map((v) => v.row),
        all,
      );
    }
  }
  return { ...split, encoded };
}

/**
 * Runs the ingest statement, its own transaction. A deadlock (possible with a writer that locks the
 * counter and rollup rows in another order, e.g. LiteLLM itself in attach mode) rolled the whole
 * statement back, so it is run again (up to 3 times); inside a caller's transaction it cannot be.
 */
async function runStatement<T>(db: Db, q: RawBuilder<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      const r = await q.execute(db);
      return r.rows[0]!;
    } catch (e) {
      if (!isRetryable(e) || attempt >= 4 || db.isTransaction) throw e;
      await new Promise((res) => setTimeout(res, 5 * attempt + Math.random() * 20));
    }
  }
}

/**
 * The one statement of a batch: the recordset `v`, the insert `ins`, then `ctes` (counters, provider
 * windows) in order; answers the group indexes of the rows not inserted and, per provider window, its
 * `added` and the group indexes of the rows it counted.
 * Every CTE is read by the final SELECT, left to right, which is the order they run and lock in.
 */
function ingestStatement(
  table: string,
  cols: Column[],
  encoded: string[],
  returning: string[],
  ctes: [string, RawBuilder<unknown>][],
): RawBuilder<{ not_inserted: string; windows: string | null }> {
  const withs = [
    sql`v AS (${typedRows(encoded, [...EXTRA, ...cols])})`,
    sql`ins AS (${insertCte(table, cols, returning)})`,
    ...ctes.map(([name, body]) => sql`${sql.ref(name)} AS (${body})`),
  ];
  const touch = ctes
    .filter(([name]) => name !== "pw" && name !== "pw_items" && name !== "pw_cfg")
    .map(([name]) => sql`(SELECT count(*) FROM ${sql.ref(name)})`);
  const hasPw = ctes.some(([name]) => name === "pw");
  return sql<{ not_inserted: string; windows: string | null }>`WITH ${sql.join(withs)}
    SELECT (SELECT coalesce(json_agg(v.i), '[]'::json) FROM v
        WHERE NOT EXISTS (SELECT 1 FROM ins WHERE ins.request_id = v.request_id))::text AS not_inserted,
      ${touch.length ? sql`${sql.join(touch)},` : sql``}
      ${hasPw ? sql`(SELECT coalesce(json_agg(json_build_array(pw.provider, pw.added, pw.items)), '[]'::json) FROM pw)::text` : sql`NULL::text`} AS windows`;
}

/** One caller's batch as it goes into a group statement, and what comes back for it. */
interface Batch {
  parsed: Parsed;
  /** Rows the caller sent (its `logs.length`): batch indexes run 0 … received - 1. */
  received: number;
}

/** Set once the group's insert statement has committed (what follows only reads). */
interface WriteState {
  written: boolean;
}

type RowsResult = IngestResult & {
  insertedRows: WireRow[];
  /** Spend added to each provider's current window by this batch's rows. */
  windows: [string, number][];
};

/**
 * Stores the valid rows of one or more batches idempotently in ONE statement (plus a comparison statement
 * only when some row was not inserted) and sorts the rest into duplicates and conflicts, per batch. Rows
 * travel with a group index (`i`: the batch's offset + the row's index in its batch); a request_id seen
 * earlier in the group (in the same batch or an earlier one) is compared after the insert, exactly as if
 * the batches had been written one after the other in group order.
 */
async function ingestRows(
  db: Db,
  table: string,
  cols: Column[],
  batches: Batch[],
  ctes: () => [string, RawBuilder<unknown>][],
  state: WriteState = { written: false },
): Promise<RowsResult[]> {
  const offsets: number[] = [];
  const merged: Parsed = { valid: [], invalid: [] };
  let offset = 0;
  for (const b of batches) {
    offsets.push(offset);
    for (const v of b.parsed.valid) {
      v.row.i = offset + v.index;
      merged.valid.push({ index: offset + v.index, row: v.row });
    }
    offset += b.received;
  }
  /** The batch a group index belongs to. */
  const batchOf = (gi: number): number => {
    let k = batches.length - 1;
    while (offsets[k]! > gi) k--;
    return k;
  };
  const { offered, repeats, encoded } = prepare(merged, cols);
  const results: RowsResult[] = batches.map((b) => ({
    received: b.received,
    inserted: 0,
    duplicates: [],
    conflicts: [],
    // A copy: rows found unstorable below are added to it, and a failed group's batches are parsed again.
    invalid: [...b.parsed.invalid],
    insertedRows: [],
    windows: [],
  }));
  for (const x of merged.invalid) {
    const k = batchOf(x.index);
    results[k]!.invalid.push({ ...x, index: x.index - offsets[k]! });
  }
  if (merged.invalid.length) for (const r of results) r.invalid.sort((a, b) => a.index - b.index);

  let notInsertedIdx = new Set<number>();
  let windows: [string, number, number[] | null][] = [];
  if (offered.length) {
    const returning = ["request_id", "spend", "api_key", "user", "team_id", "end_user", "endTime"].filter(
      (c) => cols.some((x) => x.name === c),
    );
    const r = await runStatement(db, ingestStatement(table, cols, encoded, returning, ctes()));
    state.written = true;
    notInsertedIdx = new Set(JSON.parse(r.not_inserted) as number[]);
    windows = r.windows ? (JSON.parse(r.windows) as [string, number, number[] | null][]) : [];
  }
  for (const v of offered)
    if (!notInsertedIdx.has(v.index)) results[batchOf(v.index)]!.insertedRows.push(v.row);
  const notInserted = [...offered.filter((v) => notInsertedIdx.has(v.index)), ...repeats].sort(
    (a, b) => a.index - b.index,
  );
  const diffs = await diffStored(
    db,
    table,
    cols,
    notInserted.map((v) => v.row),
  );
  for (const v of notInserted) {
    const res = results[batchOf(v.index)]!;
    const d = diffs.get(v.index);
    const id = v.row.request_id as string;
    if (d && d.length === 0) res.duplicates.push(id);
    else res.conflicts.push({ request_id: id, fields: d ?? ["request_id"] });
  }
  if (batches.length === 1) results[0]!.windows = windows.map(([p, added]) => [p, added]);
  else if (windows.length) {
    // Each batch's share of a window's increment: the spend of its own rows that the window counted.
    const spendOf = new Map<number, number>();
    for (const v of offered) spendOf.set(v.index, v.row.spend as number);
    for (const [provider, , items] of windows) {
      const per = new Map<number, number>();
      for (const gi of items ?? []) {
        const k = batchOf(gi);
        per.set(k, (per.get(k) ?? 0) + spendOf.get(gi)!);
      }
      for (const [k, added] of per) results[k]!.windows.push([provider, added]);
    }
  }
  for (const res of results) res.inserted = res.insertedRows.length;
  return results;
}

/**
 * Group commit. Concurrent ingest calls on one database handle (and one table) go through one lane: while
 * the lane's statements run, the batches that arrive wait, and the next statement takes all of them at
 * once (up to MAX_GROUP_ROWS rows), each caller getting its own answer after that statement has committed. Batches
 * from many gateway workers then cost one statement instead of many that would queue on the same rollup and
 * counter rows (today's rows of every busy key, team and model) one commit at a time. A batch that arrives
 * on an idle lane runs at once. Should a group statement fail, its batches are run again one by one, so an
 * error reaches only the caller whose rows caused it. Inside a caller's transaction there is no lane.
 */
export const MAX_GROUP_ROWS = 8000;
/**
 * Group statements a lane runs at once, by default. One keeps a single Postgres backend busy and leaves
 * the second core idle; two overlap one group's insert with the other's rollup upserts (10M-log bench,
 * 8 concurrent callers: 14.6–16.2k logs/s with one, 19.4–20.8k with two, 19.1k with three). The server
 * sets it per database from SPENDLENS_INGEST_STATEMENTS (`setIngestStatements`, read at the edge).
 */
export const DEFAULT_LANE_STATEMENTS = 2;
const laneStatements = new WeakMap<object, number>();

/** How many group statements the ingest lanes of `db` run at once (a whole number ≥ 1). */
export function setIngestStatements(db: Db, n: number): void {
  if (!Number.isInteger(n) || n < 1)
    throw new RangeError(`ingest statements must be a whole number ≥ 1, got ${n}`);
  laneStatements.set(db, n);
}

interface Queued {
  batch: Batch;
  key: unknown;
  resolve: (r: RowsResult) => void;
  reject: (e: unknown) => void;
}

/** What a lane has done since the process started (the bench reports batches per statement). */
export interface IngestLaneStats {
  /** Group statements run (each holds one or more batches). */
  groups: number;
  /** Batches written through those statements. */
  batches: number;
  /** Groups that failed and were written again one batch at a time. */
  regrouped: number;
}

class IngestLane {
  private queue: Queued[] = [];
  private running = 0;
  readonly stats: IngestLaneStats = { groups: 0, batches: 0, regrouped: 0 };

  constructor(
    private readonly run: (key: unknown, batches: Batch[], state: WriteState) => Promise<RowsResult[]>,
    private readonly statements: number,
  ) {}

  submit(key: unknown, batch: Batch): Promise<RowsResult> {
    return new Promise<RowsResult>((resolve, reject) => {
      this.queue.push({ batch, key, resolve, reject });
      if (this.running < this.statements) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running++;
    try {
      while (this.queue.length) {
        // The next group: queued batches with the first one's key (config), in arrival order.
        const key = this.queue[0]!.key;
        const group: Queued[] = [];
        let rows = 0;
        const rest: Queued[] = [];
        for (const q of this.queue) {
          if (q.key === key && (group.length === 0 || rows + q.batch.received <= MAX_GROUP_ROWS)) {
            group.push(q);
            rows += q.batch.received;
          } else rest.push(q);
        }
        this.queue = rest;
        const state: WriteState = { written: false };
        this.stats.groups++;
        this.stats.batches += group.length;
        try {
          const out = await this.run(
            key,
            group.map((q) => q.batch),
            state,
          );
          for (const [k, q] of group.entries()) q.resolve(out[k]!);
        } catch (e) {
          if (group.length === 1 || state.written) {
            // Alone, or the rows were stored and only the comparison failed: a retry of the call is a no-op
            // (idempotent), so the error goes to every caller of the group.
            for (const q of group) q.reject(e);
          } else {
            // Nothing of the group was stored (one statement): each batch on its own, for its own answer.
            this.stats.regrouped++;
            for (const q of group) {
              try {
                q.resolve((await this.run(key, [q.batch], { written: false }))[0]!);
              } catch (e1) {
                q.reject(e1);
              }
            }
          }
        }
      }
    } finally {
      this.running--;
    }
  }
}

const lanes = new WeakMap<object, Map<string, IngestLane>>();

/** The group-commit counters of a database handle's spend-log lane (zeros before its first ingest). */
export function ingestLaneStats(db: Db, table = "LiteLLM_SpendLogs"): IngestLaneStats {
  return { ...(lanes.get(db)?.get(table)?.stats ?? { groups: 0, batches: 0, regrouped: 0 }) };
}

/**
 * The lane of (db, table). `run` writes a group with the config its batches share (`key`, compared by
 * identity); the first call on the pair fixes it, so every call on that pair passes the same function.
 */
function laneOf(
  db: Db,
  table: string,
  run: (key: unknown, batches: Batch[], state: WriteState) => Promise<RowsResult[]>,
): IngestLane {
  let m = lanes.get(db);
  if (!m) {
    m = new Map();
    lanes.set(db, m);
  }
  let lane = m.get(table);
  if (!lane) {
    lane = new IngestLane(run, laneStatements.get(db) ?? DEFAULT_LANE_STATEMENTS);
    m.set(table, lane);
  }
  return lane;
}

const optionalColumnsCache = new WeakMap<object, Column[]>();

/**
 * POST /spend/logs/ingest: writes spend logs the way the gateway would. Idempotent on request_id (the
 * same row twice counts once; the same id with other content is a conflict and changes nothing). In the
 * same statement (so the same transaction), and only for rows actually inserted, their spend is added to
 * their key, user, team and end user (created when missing) and to their provider's current budget
 * window, and the rollup triggers add them to the daily rollups. Counter increments are appended as
 * pending rows in that statement and folded into the counters right after (spend/counters.ts), so no
 * ingest statement locks a counter row. docs/ingest-budgets-pricing.md has the statement.
 *
 * An internal-user scope may only write rows whose `user` is its own user (others are reported invalid).
 */
export async function ingestSpendLogs(
  db: Db,
  scope: Scope,
  input: { logs: unknown[] },
  config: Pick<SpendlensConfig, "modelList" | "providerBudgets">,
): Promise<SpendIngestResult> {
  checkBatch(input.logs);
  const only = scopeUserId(scope);
  const parsed = parseRows(
    input.logs,
    checkSpendLogRow,
    only === null
      ? undefined
      : (row) =>
          row.user !== only
            ? { field: "user", reason: `this key may only write logs of user ${only}` }
            : null,
  );
  let cols = optionalColumnsCache.get(db);
  if (!cols) {
    const have = await tableColumns(db, "LiteLLM_SpendLogs");
    cols = [...SPEND_LOG_COLUMNS, ...OPTIONAL_SPEND_LOG_COLUMNS.filter((c) => have.has(c.name))];
    optionalColumnsCache.set(db, cols);
  }
  const budgets = config.providerBudgets ?? {};
  const budgeted = Object.keys(budgets).length > 0;
  const resolve = budgeted ? providerResolver(config.modelList ?? []) : null;
  // The provider of each row with a budget (`p`, read by the provider-window CTEs), else null.
  for (const v of parsed.valid) {
    let p: string | null = null;
    if (resolve && (v.row.spend as number) > 0) {
      const name = resolve(
        v.row as { model_id: string | null; model: string; custom_llm_provider: string | null },
      );
      if (Object.hasOwn(budgets, name)) p = name;
    }
    v.row.p = p;
  }
  const batch: Batch = { parsed, received: input.logs.length };
  const r = db.isTransaction
    ? (await writeSpendGroup(db, cols, config, [batch]))[0]!
    : await laneOf(db, "LiteLLM_SpendLogs", (c, b, st) =>
        writeSpendGroup(db, cols, c as SpendConfig, b, st),
      ).submit(config, batch);
  // The batch's counter increments are committed as pending rows; they reach the counters in a fold that
  // starts after the commit (shared with the other callers meanwhile), so the answer comes after the
  // counters include them unless a row was locked (then a later fold adds them; exact readers add the
  // pending ones). The rollups likewise: the batch's rows wait in spendlens.spend_log_pending until a fold,
  // and the answer comes after one that started after the commit, so a standby that has replayed up to
  // the answer has them in its rollups too. A failed fold does not fail the write: it is retried.
  if (!db.isTransaction && r.inserted > 0)
    await Promise.all([foldSpendCountersSoon(db).catch(() => {}), foldRollupsSoon(db).catch(() => 0)]);
  let spendAdded = 0;
  for (const row of r.insertedRows) spendAdded += row.spend as number;
  const providerAdded: Record<string, number> = {};
  for (const [provider, added] of r.windows) if (added > 0) providerAdded[provider] = added;
  const { insertedRows: _rows, windows: _windows, ...result } = r;
  return { ...result, spend_added: spendAdded, provider_spend_added: providerAdded };
}

type SpendConfig = Pick<SpendlensConfig, "modelList" | "providerBudgets">;

/** One statement for a group of spend-log batches: rows, counters, provider windows (at the time it runs). */
function writeSpendGroup(
  db: Db,
  cols: Column[],
  config: SpendConfig,
  batches: Batch[],
  state?: WriteState,
): Promise<RowsResult[]> {
  const seen = new Set<string>();
  for (const b of batches) for (const v of b.parsed.valid) if (v.row.p !== null) seen.add(v.row.p as string);
  const at = now().getTime();
  return ingestRows(
    db,
    "LiteLLM_SpendLogs",
    cols,
    batches,
    () => [...spendCounterCtes(), ...providerWindowCtes(config, seen, at)],
    state,
  );
}

/**
 * POST /error/logs/ingest: writes error logs (LiteLLM_ErrorLogs rows), idempotent on request_id like
 * spend logs, in one statement (the error rollup trigger fires in it). Error logs carry no user, so only
 * an unscoped caller (admin or ingest key) may write them.
 */
export async function ingestErrorLogs(
  db: Db,
  scope: Scope,
  input: { logs: unknown[] },
): Promise<IngestResult> {
  checkBatch(input.logs);
  if (scopeUserId(scope) !== null)
    throw forbidden("error logs carry no user: only an ingest key may write them");
  const parsed = parseRows(input.logs, checkErrorLogRow);
  const batch: Batch = { parsed, received: input.logs.length };
  const write = (_: unknown, b: Batch[], st?: WriteState) =>
    ingestRows(db, "LiteLLM_ErrorLogs", ERROR_LOG_COLUMNS, b, () => [], st);
  const r = db.isTransaction
    ? (await write(null, [batch]))[0]!
    : await laneOf(db, "LiteLLM_ErrorLogs", write).submit(null, batch);
  const { insertedRows: _rows, windows: _windows, ...result } = r;
  return result;
}
