import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Kysely, PostgresDialect, type RawBuilder, sql } from "kysely";
import type pg from "pg";
import pgCopy from "pg-copy-streams";
import type { Db, DbHandle } from "../db/connect.ts";
import type { Database } from "../db/schema.ts";
import { pauseRollups, rebuildRollups, resumeRollups, rollupStatus } from "../rollups/maintain.ts";
import { addLogToDeltas, emptyDeltas, foldSpendCounters, recordSpendDeltas } from "../spend/counters.ts";
import {
  buildWorld,
  type DemoErrorLog,
  type DemoLog,
  type DemoWorld,
  generateLogs,
  type WorldOptions,
} from "./generate.ts";

export interface SeedOptions extends WorldOptions {
  logs: number;
  days?: number;
  end?: Date;
  errorRate?: number;
  /**
   * Rows per write: per COPY + move transaction on Postgres (default 100000), per INSERT statement on
   * PGlite or a bare Kysely handle (default 5000).
   */
  batchSize?: number;
  onProgress?: (written: number, total: number) => void;
  /**
   * Bulk mode on Postgres: pause the rollups while the logs go in (the triggers then only mark the days
   * they touch dirty, and readers answer dirty days from the raw logs, so every report stays exact
   * meanwhile), then resume and rebuild those days once. Skipped when the rollups are already paused
   * (whoever paused them rebuilds) or some day holds the totals of deleted raw logs (a rebuild would
   * lose them). Default: BULK_DEFAULT.
   */
  bulk?: boolean;
  /** Progress of the rebuild after a bulk seed (days done, days in all). */
  onRebuild?: (doneDays: number, totalDays: number) => void;
  /**
   * PGlite bulk mode: drop the log tables' secondary indexes for a big load and build them after it
   * (`deferLogIndexes`). Default true; false keeps them maintained row by row (for comparisons).
   */
  deferIndexes?: boolean;
}

/** Where a seed's time went, in milliseconds per phase (PGlite path; see SeedResult.timings). */
export type SeedTimings = Record<string, number>;

/** Adds the time `f` takes to `t[phase]`. */
async function timed<T>(t: SeedTimings, phase: string, f: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await f();
  } finally {
    t[phase] = (t[phase] ?? 0) + Math.round(performance.now() - t0);
  }
}

/** Whether a Postgres seed runs in bulk mode unless told (see SeedOptions.bulk). */
export const BULK_DEFAULT = false;

export interface SeedResult {
  logs: number;
  errorLogs: number;
  keys: number;
  users: number;
  teams: number;
  world: DemoWorld;
  /** Milliseconds per phase of the write (the PGlite path reports them; elsewhere empty). */
  timings: SeedTimings;
}

/** Writes the demo world's teams, users and keys (idempotent: existing rows are kept). */
export async function writeWorld(db: Db, world: DemoWorld): Promise<void> {
  const t = world.teams;
  await sql`INSERT INTO "LiteLLM_TeamTable" (team_id, team_alias)
    SELECT * FROM unnest(${t.map((x) => x.team_id)}::text[], ${t.map((x) => x.team_alias)}::text[])
    ON CONFLICT (team_id) DO NOTHING`.execute(db);
  const u = world.users;
  await sql`INSERT INTO "LiteLLM_UserTable" (user_id, user_role, team_id, user_email)
    SELECT * FROM unnest(${u.map((x) => x.user_id)}::text[], ${u.map((x) => x.user_role)}::text[],
      ${u.map((x) => x.team_id)}::text[], ${u.map((x) => x.user_email)}::text[])
    ON CONFLICT (user_id) DO NOTHING`.execute(db);
  const k = world.keys;
  await sql`INSERT INTO "LiteLLM_VerificationToken" (token, key_alias, key_name, user_id, team_id)
    SELECT * FROM unnest(${k.map((x) => x.token)}::text[], ${k.map((x) => x.key_alias)}::text[],
      ${k.map((x) => x.key_name)}::text[], ${k.map((x) => x.user_id)}::text[], ${k.map((x) => x.team_id)}::text[])
    ON CONFLICT (token) DO NOTHING`.execute(db);
}

/** Inserts spend logs in one statement; returns the rows actually inserted (duplicates skipped). */
export async function insertLogBatch(db: Db, rows: DemoLog[]) {
  const col = <K extends keyof DemoLog>(k: K) => rows.map((r) => r[k]);
  const r = await sql<{
    api_key: string;
    spend: number;
    user: string | null;
    team_id: string | null;
    end_user: string | null;
  }>`
    INSERT INTO "LiteLLM_SpendLogs" (request_id, call_type, api_key, spend, total_tokens, prompt_tokens,
      completion_tokens, "startTime", "endTime", model, model_id, model_group, custom_llm_provider, api_base,
      "user", metadata, cache_hit, request_tags, team_id, end_user, status)
    SELECT request_id, call_type, api_key, spend, total_tokens, prompt_tokens, completion_tokens, st, et, model,
      model_id, model_group, provider, api_base, usr, metadata::jsonb, cache_hit, tags::jsonb, team_id, end_user, status
    FROM unnest(${col("request_id")}::text[], ${col("call_type")}::text[], ${col("api_key")}::text[],
      ${col("spend")}::float8[], ${col("total_tokens")}::int[], ${col("prompt_tokens")}::int[],
      ${col("completion_tokens")}::int[], ${col("startTime")}::timestamp[], ${col("endTime")}::timestamp[],
      ${col("model")}::text[], ${col("model_id")}::text[], ${col("model_group")}::text[],
      ${col("custom_llm_provider")}::text[], ${col("api_base")}::text[], ${col("user")}::text[],
      ${col("metadata")}::text[], ${col("cache_hit")}::text[], ${col("request_tags")}::text[],
      ${col("team_id")}::text[], ${col("end_user")}::text[], ${col("status")}::text[])
      AS v(request_id, call_type, api_key, spend, total_tokens, prompt_tokens, completion_tokens, st, et, model,
        model_id, model_group, provider, api_base, usr, metadata, cache_hit, tags, team_id, end_user, status)
    WHERE NOT EXISTS (SELECT 1 FROM spendlens.spend_log_ids k WHERE k.request_id = v.request_id)
    ON CONFLICT DO NOTHING
    RETURNING api_key, spend, "user", team_id, end_user`.execute(db);
  return r.rows;
}

export async function insertErrorLogBatch(db: Db, rows: DemoErrorLog[]): Promise<number> {
  if (!rows.length) return 0;
  const col = <K extends keyof DemoErrorLog>(k: K) => rows.map((r) => r[k]);
  const r =
    await sql`INSERT INTO "LiteLLM_ErrorLogs" (request_id, "startTime", "endTime", api_base, model_group,
      litellm_model_name, model_id, exception_type, status_code)
    SELECT * FROM unnest(${col("request_id")}::text[], ${col("startTime")}::timestamp[], ${col("endTime")}::timestamp[],
      ${col("api_base")}::text[], ${col("model_group")}::text[], ${col("litellm_model_name")}::text[],
      ${col("model_id")}::text[], ${col("exception_type")}::text[], ${col("status_code")}::text[])
      AS v(request_id, st, et, api_base, model_group, litellm_model_name, model_id, exception_type, status_code)
    WHERE NOT EXISTS (SELECT 1 FROM spendlens.error_log_ids k WHERE k.request_id = v.request_id)
    ON CONFLICT DO NOTHING`.execute(db);
  return Number(r.numAffectedRows ?? 0);
}

const aborted = new Error("seed aborted: another chunk failed");

/** One generated request: its spend log and, sometimes, an error log. */
export type GeneratedRow = { log: DemoLog; error: DemoErrorLog | null };

/**
 * Writes the demo world and `logs` spend logs, streaming in batches (never one insert per row), and
 * keeps key, user, team and end-user spend counters equal to the logs actually inserted. Re-running the
 * same seed adds nothing twice.
 *
 * Pass the DbHandle: on Postgres the logs then go through COPY FROM STDIN into a staging table and are
 * moved with one INSERT ... ON CONFLICT DO NOTHING per chunk. A bare Kysely instance (or PGlite) uses
 * batched multi-row INSERTs, which are correct but much slower on Postgres.
 */
export async function seedDemoData(target: DbHandle | Db, opts: SeedOptions): Promise<SeedResult> {
  // A structural check rather than instanceof Kysely, which a second copy of kysely would defeat.
  const handle = typeof (target as Partial<DbHandle>).engine === "string" ? (target as DbHandle) : null;
  const db: Db = handle ? handle.db : (target as Db);
  const world = buildWorld(opts);
  await writeWorld(db, world);
  const rows = generateLogs(world, opts.logs, opts);
  const pool = handle?.engine === "postgres" ? handle.pool : undefined;
  const timings: SeedTimings = {};
  let counts: WriteCounts;
  if (pool) {
    const paused = (opts.bulk ?? BULK_DEFAULT) && (await pauseForBulk(db));
    try {
      counts = await copyLogRows(pool, rows, opts);
    } finally {
      // Also after a failure: the chunks that committed are in the raw logs, and the rollups must not
      // stay paused.
      if (paused) {
        await resumeRollups(db);
        await rebuildRollups(db, {
          scope: "dirty",
          chunkDays: 31,
          ...(opts.onRebuild ? { onProgress: opts.onRebuild } : {}),
        });
      }
    }
  } else if (handle?.engine === "pglite" && handle.pglite) {
    // One process owns the folder (nobody reads while it seeds): bulk by default.
    counts = await seedPglite(handle.pglite, db, rows, opts, timings);
  } else {
    counts = await insertLogs(db, rows, opts);
  }
  await timed(timings, "team_budgets", () => writeDemoTeamBudgets(db));
  // The chunks recorded their counter increments as pending rows (spend/counters.ts): add them now.
  // One fold of every entity the seed touched (thousands): the fold's anti-join against the rows it
  // applied is planned as a nested loop over CTE scans, quadratic in the entities (15 s against 1.6 s with
  // hash joins at 5k delta rows on PGlite, measured), so hash joins are asked for here.
  await timed(timings, "fold_counters", () =>
    db.transaction().execute(async (trx) => {
      await sql`SET LOCAL enable_nestloop = off`.execute(trx);
      return foldSpendCounters(trx);
    }),
  );
  return {
    ...counts,
    keys: world.keys.length,
    users: world.users.length,
    teams: world.teams.length,
    world,
    timings,
  };
}

/**
 * Gives the demo's teams LiteLLM budgets that `spendlens budgets` has something to show for: a 30-day
 * budget that resets in 10 days (20 days of it spent), set from each team's last 29 days of spend (1.25 ×
 * it for most, so they last; 0.9 × for every fourth team, which is projected to run out), and a soft
 * budget at 80 % of it. Teams that already have a budget keep it.
 */
async function writeDemoTeamBudgets(db: Db): Promise<void> {
  const soft = await sql<{ n: number }>`SELECT count(*)::int AS n FROM information_schema.columns
    WHERE table_schema = 'public' AND table_name = 'LiteLLM_TeamTable' AND column_name = 'soft_budget'`.execute(
    db,
  );
  const hasSoft = (soft.rows[0]?.n ?? 0) > 0;
  await sql`UPDATE "LiteLLM_TeamTable" t SET max_budget = s.budget,
      ${hasSoft ? sql`soft_budget = round((s.budget * 0.8)::numeric, 2)::float8,` : sql``}
      budget_duration = '30d',
      budget_reset_at = date_trunc('day', now() AT TIME ZONE 'UTC') + interval '10 days'
    FROM (SELECT team_id, round((sum(spend) * CASE WHEN row_number() OVER (ORDER BY team_id) % 4 = 0
        THEN 0.9 ELSE 1.25 END)::numeric, 2)::float8 AS budget
      FROM "LiteLLM_SpendLogs"
      WHERE "startTime" >= (now() AT TIME ZONE 'UTC') - interval '29 days' AND team_id IS NOT NULL
      GROUP BY team_id) s
    WHERE t.team_id = s.team_id AND t.max_budget IS NULL AND s.budget > 0`.execute(db);
}

/** Pauses the rollups for a bulk load when they run and no day holds kept totals; true if it did. */
async function pauseForBulk(db: Db): Promise<boolean> {
  const st = await rollupStatus(db);
  if (st.status !== "ready" || st.rawDeletedDays.length > 0 || st.missingTriggers.length > 0) return false;
  await pauseRollups(db);
  return true;
}

export interface WriteCounts {
  logs: number;
  errorLogs: number;
}

/** Batched multi-row INSERTs through Kysely: one transaction per batch (PGlite, or no raw pool). */
async function insertLogs(db: Db, rows: Iterator<GeneratedRow>, opts: SeedOptions): Promise<WriteCounts> {
  const batchSize = Math.max(1, opts.batchSize ?? 5000);
  let written = 0;
  let inserted = 0;
  let errorLogs = 0;
  for (;;) {
    const batch: DemoLog[] = [];
    const errBatch: DemoErrorLog[] = [];
    while (batch.length < batchSize) {
      const r = rows.next();
      if (r.done) break;
      batch.push(r.value.log);
      if (r.value.error) errBatch.push(r.value.error);
    }
    if (!batch.length) break;
    await db.transaction().execute(async (trx) => {
      const ins = await insertLogBatch(trx, batch);
      const deltas = emptyDeltas();
      for (const r of ins) addLogToDeltas(deltas, r);
      await recordSpendDeltas(trx, deltas);
      inserted += ins.length;
      errorLogs += await insertErrorLogBatch(trx, errBatch);
    });
    written += batch.length;
    opts.onProgress?.(written, opts.logs);
    if (batch.length < batchSize) break;
  }
  return { logs: inserted, errorLogs };
}

// ---- Postgres: COPY into a staging table, then move ----

/** Staging columns, in the order the CSV writers below emit them; types as in "LiteLLM_SpendLogs". */
const LOG_COLUMNS = [
  ["request_id", "text"],
  ["call_type", "text"],
  ["api_key", "text"],
  ["spend", "double precision"],
  ["total_tokens", "integer"],
  ["prompt_tokens", "integer"],
  ["completion_tokens", "integer"],
  ["startTime", "timestamp(3)"],
  ["endTime", "timestamp(3)"],
  ["model", "text"],
  ["model_id", "text"],
  ["model_group", "text"],
  ["custom_llm_provider", "text"],
  ["api_base", "text"],
  ["user", "text"],
  ["metadata", "jsonb"],
  ["cache_hit", "text"],
  ["request_tags", "jsonb"],
  ["team_id", "text"],
  ["end_user", "text"],
  ["status", "text"],
] as const satisfies ReadonlyArray<readonly [keyof DemoLog, string]>;

const ERROR_COLUMNS = [
  ["request_id", "text"],
  ["startTime", "timestamp(3)"],
  ["endTime", "timestamp(3)"],
  ["api_base", "text"],
  ["model_group", "text"],
  ["litellm_model_name", "text"],
  ["model_id", "text"],
  ["exception_type", "text"],
  ["status_code", "text"],
] as const satisfies ReadonlyArray<readonly [keyof DemoErrorLog, string]>;

const colList = (cols: ReadonlyArray<readonly [string, string]>) => cols.map(([c]) => `"${c}"`).join(", ");
const colDefs = (cols: ReadonlyArray<readonly [string, string]>) =>
  cols.map(([c, t]) => `"${c}" ${t}`).join(", ");

/** CSV goes to COPY in blocks of about this many bytes. */
const CSV_BLOCK = 64 * 1024;

/**
 * Writes COPY ... (FORMAT csv) input straight into Buffers. (Building each row as a JS string and
 * encoding it afterwards costs several times the CPU, and on a small machine Node's CPU is what the
 * database ends up waiting for.)
 *
 * Escaping: every non-null string is quoted, so '' stays an empty string while an unquoted empty field
 * is NULL; quotes inside are doubled, and commas, CR/LF and a lone `\.` are then plain data. Text is
 * UTF-8. Numbers use JS's shortest round-trip form, which float8/integer input parses back exactly.
 */
class CsvWriter {
  private buf = Buffer.allocUnsafe(CSV_BLOCK);
  private off = 0;
  /** Finished blocks, in order, waiting to be sent. */
  readonly ready: Buffer[] = [];

  /** Hands over what has been written so far. */
  flush(): void {
    if (!this.off) return;
    this.ready.push(this.buf.subarray(0, this.off));
    this.buf = Buffer.allocUnsafe(CSV_BLOCK);
    this.off = 0;
  }

  /** Makes room for `n` more bytes (a field may straddle two blocks' worth; COPY data need not align). */
  private reserve(n: number): void {
    if (this.buf.length - this.off >= n) return;
    this.flush();
    if (this.buf.length < n) this.buf = Buffer.allocUnsafe(n);
  }

  /** A text field: nothing (NULL) for null, else quoted. */
  text(s: string | null | undefined): void {
    if (s == null) return;
    // Worst case per UTF-16 unit: 3 bytes (non-ASCII) or 2 (a doubled quote); plus the two quotes.
    this.reserve(3 * s.length + 2);
    const b = this.buf;
    let o = this.off;
    b[o++] = 34;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x80) {
        b[o++] = c;
        if (c === 34) b[o++] = 34;
      } else {
        const rest = s.slice(i);
        o += b.write(rest.includes('"') ? rest.replaceAll('"', '""') : rest, o, "utf8");
        break;
      }
    }
    b[o++] = 34;
    this.off = o;
  }

  /** A numeric field: nothing (NULL) for null. */
  num(v: number | null | undefined): void {
    if (v == null) return;
    if (Number.isSafeInteger(v)) {
      // Integers (token counts) by hand: String() costs several times more, per field, per row.
      let x = v < 0 ? -v : v;
      let len = v < 0 ? 2 : 1;
      for (let t = x; t >= 10; t = Math.floor(t / 10)) len++;
      this.reserve(len);
      const b = this.buf;
      if (v < 0) b[this.off] = 45;
      let o = this.off + len;
      do {
        b[--o] = 48 + (x % 10);
        x = Math.floor(x / 10);
      } while (x > 0);
      this.off += len;
      return;
    }
    const t = String(v); // digits . e + - or NaN/Infinity: ASCII, never needs quoting
    this.reserve(t.length);
    const b = this.buf;
    let o = this.off;
    for (let i = 0; i < t.length; i++) b[o++] = t.charCodeAt(i);
    this.off = o;
  }

  comma(): void {
    this.reserve(1);
    this.buf[this.off++] = 44;
  }

  endRow(): void {
    this.reserve(1);
    this.buf[this.off++] = 10;
    if (this.off >= CSV_BLOCK - 1024) this.flush();
  }
}

/** One spend log as a CSV row, fields in LOG_COLUMNS order. */
function writeLogRow(w: CsvWriter, r: DemoLog): void {
  w.text(r.request_id);
  w.comma();
  w.text(r.call_type);
  w.comma();
  w.text(r.api_key);
  w.comma();
  w.num(r.spend);
  w.comma();
  w.num(r.total_tokens);
  w.comma();
  w.num(r.prompt_tokens);
  w.comma();
  w.num(r.completion_tokens);
  w.comma();
  w.text(r.startTime);
  w.comma();
  w.text(r.endTime);
  w.comma();
  w.text(r.model);
  w.comma();
  w.text(r.model_id);
  w.comma();
  w.text(r.model_group);
  w.comma();
  w.text(r.custom_llm_provider);
  w.comma();
  w.text(r.api_base);
  w.comma();
  w.text(r.user);
  w.comma();
  w.text(r.metadata);
  w.comma();
  w.text(r.cache_hit);
  w.comma();
  w.text(r.request_tags);
  w.comma();
  w.text(r.team_id);
  w.comma();
  w.text(r.end_user);
  w.comma();
  w.text(r.status);
  w.endRow();
}

/** One error log as a CSV row, fields in ERROR_COLUMNS order. */
function writeErrorRow(w: CsvWriter, r: DemoErrorLog): void {
  w.text(r.request_id);
  w.comma();
  w.text(r.startTime);
  w.comma();
  w.text(r.endTime);
  w.comma();
  w.text(r.api_base);
  w.comma();
  w.text(r.model_group);
  w.comma();
  w.text(r.litellm_model_name);
  w.comma();
  w.text(r.model_id);
  w.comma();
  w.text(r.exception_type);
  w.comma();
  w.text(r.status_code);
  w.endRow();
}

/**
 * Pulls up to `limit` rows from the shared generator and yields their CSV block by block; the chunk's
 * error logs go to `errors` (sent after the logs). Only a block or two of logs is held at a time.
 */
function* logCsv(
  rows: Iterator<GeneratedRow>,
  limit: number,
  errors: CsvWriter,
  counter: { n: number },
): Generator<Buffer> {
  const w = new CsvWriter();
  while (counter.n < limit) {
    const r = rows.next();
    if (r.done) break;
    counter.n++;
    writeLogRow(w, r.value.log);
    if (r.value.error) writeErrorRow(errors, r.value.error);
    if (w.ready.length) yield* w.ready.splice(0);
  }
  w.flush();
  yield* w.ready.splice(0);
}

async function copyIn(
  client: pg.PoolClient,
  table: string,
  cols: ReadonlyArray<readonly [string, string]>,
  source: Iterable<Buffer>,
): Promise<void> {
  const stream = client.query(pgCopy.from(`COPY ${table} (${colList(cols)}) FROM STDIN (FORMAT csv)`));
  await pipeline(Readable.from(source), stream);
}

/** A Kysely instance that runs every query on one checked-out client (temp tables and COPY need one session). */
function pinnedKysely(client: pg.PoolClient): Db {
  const conn = { query: client.query.bind(client), release: () => {} };
  return new Kysely<Database>({
    dialect: new PostgresDialect({ pool: { connect: async () => conn as never, end: async () => {} } }),
  });
}

/**
 * Whether "LiteLLM_SpendLogs" has an index led by api_key (spendlens's log-page indexes, standalone
 * mode). Such indexes are inserted into in random order, and with a small shared_buffers that costs a
 * page read and write per row; moving a chunk sorted by (api_key, "startTime") touches each of their
 * pages about once instead (measured: about a fifth less CPU per chunk with those indexes, and more
 * without them, where the sort only costs).
 */
async function keyLedIndex(pool: pg.Pool): Promise<boolean> {
  const r = await pool.query<{ found: boolean }>(`SELECT EXISTS (
      SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
      WHERE i.indrelid = '"LiteLLM_SpendLogs"'::regclass AND a.attname = 'api_key') AS found`);
  return r.rows[0]?.found === true;
}

/** A place in a sequence: `wait` resolves once the previous holder called `done`; `next` is for the next one. */
function takeTurn(prev: Promise<void>): { wait: Promise<void>; done: () => void; next: Promise<void> } {
  let done!: () => void;
  const next = new Promise<void>((r) => {
    done = r;
  });
  return { wait: prev, done, next };
}

/**
 * Writes spend logs (and their error logs) on Postgres, with counters; `opts.logs` is only the total
 * reported to onProgress. Each chunk is one transaction on a dedicated connection:
 *   1. COPY the chunk's logs (CSV made on the fly from the generator) and its error logs into temp
 *      staging tables;
 *   2. INSERT the logs into "LiteLLM_SpendLogs" (request_ids not registered, migration 0011) ON CONFLICT
 *      DO NOTHING, summing the spend
 *      of the rows actually inserted in SQL (RETURNING feeds a GROUP BY; only the sums reach the client),
 *      and the error logs into "LiteLLM_ErrorLogs" likewise;
 *   3. recordSpendDeltas (pending counter increments, one row per entity; seedDemoData folds them into
 *      the counters at the end), then commit.
 * Two connections ("lanes") take alternate chunks and run in parallel: on a 2-core machine the two
 * backends' INSERTs (index and rollup-trigger upkeep is most of a seed's cost) use both cores while
 * Node generates the next chunk. COPYs run in chunk order (the generator is shared). Locks:
 * - the rollup triggers upsert in one global order (table, day, key_hash), so two lanes may wait for
 *   each other's commit (adjacent chunks share a day) but never deadlock;
 * - step 3 only appends rows: no counter row is locked by a chunk;
 * - a deadlock with some other writer (e.g. a live gateway) is retried from a savepoint: the staged
 *   rows are still there.
 * Progress is reported as chunks commit (possibly out of order; the count is what matters).
 */
export async function copyLogRows(
  pool: pg.Pool,
  source: Iterable<GeneratedRow>,
  opts: Pick<SeedOptions, "logs" | "batchSize" | "onProgress">,
): Promise<WriteCounts> {
  const rows = source[Symbol.iterator]();
  const chunkSize = Math.max(1, opts.batchSize ?? 100_000);
  const lanes = Math.max(1, Math.min(2, pool.options.max ?? 2));
  const st = {
    written: 0,
    inserted: 0,
    errorLogs: 0,
    exhausted: false,
    failed: null as { error: unknown } | null,
  };
  let copyGate = Promise.resolve();

  const order = (await keyLedIndex(pool)) ? sql`ORDER BY api_key, "startTime"` : sql``;

  /** Step 2 and 3 of one chunk; returns [logs inserted, error logs inserted]. */
  const move = async (trx: Db, withErrors: boolean): Promise<[number, number]> => {
    const agg = await moveStagedLogs(trx, order);
    const errorsInserted = withErrors ? await moveStagedErrors(trx) : 0;
    const deltas = emptyDeltas();
    let inserted = 0;
    for (const r of agg.rows) {
      inserted += r.n;
      addLogToDeltas(deltas, r);
    }
    await recordSpendDeltas(trx, deltas);
    return [inserted, errorsInserted];
  };

  const onClientError = (error: Error) => {
    st.failed ??= { error };
  };
  const lane = async (): Promise<void> => {
    let client: pg.PoolClient | undefined;
    let db: Db | undefined;
    let broken = false;
    try {
      client = await pool.connect();
      const c = client;
      // A connection that dies mid-COPY (a Postgres restart) must fail this seed, not the process:
      // the error reaches the statement in flight, and the client is discarded below.
      c.on("error", onClientError);
      db = pinnedKysely(c);
      while (!st.exhausted && !st.failed) {
        // Take this chunk's place in the COPY sequence before the other lane can.
        const copy = takeTurn(copyGate);
        copyGate = copy.next;
        const counter = { n: 0 };
        try {
          await copy.wait;
          if (st.exhausted || st.failed) break;
          const errors = new CsvWriter();
          await db.transaction().execute(async (trx) => {
            // A chunk's statements can outlast the pool's per-statement timeout; seeding is a bulk job.
            await sql`SET LOCAL statement_timeout = 0`.execute(trx);
            await sql`SET LOCAL work_mem = '128MB'`.execute(trx); // a chunk's sort (keyLedIndex) stays in memory
            await sql
              .raw(`CREATE TEMP TABLE seed_logs (${colDefs(LOG_COLUMNS)}) ON COMMIT DROP`)
              .execute(trx);
            try {
              await copyIn(c, "pg_temp.seed_logs", LOG_COLUMNS, logCsv(rows, chunkSize, errors, counter));
            } catch (err) {
              broken = true;
              throw err;
            }
            if (counter.n < chunkSize) st.exhausted = true;
            copy.done();
            if (!counter.n) return;
            errors.flush();
            if (errors.ready.length) {
              await sql
                .raw(`CREATE TEMP TABLE seed_errors (${colDefs(ERROR_COLUMNS)}) ON COMMIT DROP`)
                .execute(trx);
              await copyIn(c, "pg_temp.seed_errors", ERROR_COLUMNS, errors.ready);
            }
            if (st.failed) throw aborted; // the other lane failed: roll this chunk back too
            for (let attempt = 1; ; attempt++) {
              await sql`SAVEPOINT seed_move`.execute(trx);
              try {
                const [inserted, errorsInserted] = await move(trx, errors.ready.length > 0);
                st.inserted += inserted;
                st.errorLogs += errorsInserted;
                break;
              } catch (err) {
                if ((err as { code?: string }).code !== "40P01" || attempt >= 5) throw err;
                await sql`ROLLBACK TO SAVEPOINT seed_move`.execute(trx);
              }
            }
          });
          if (counter.n) {
            st.written += counter.n;
            opts.onProgress?.(st.written, opts.logs);
          }
        } catch (error) {
          st.failed ??= { error }; // set before the turn is handed on, so the other lane sees it
          throw error;
        } finally {
          copy.done();
        }
      }
    } catch (error) {
      st.failed ??= { error };
    } finally {
      // A client whose COPY broke off is discarded rather than returned to the pool.
      client?.off("error", onClientError);
      client?.release(broken || undefined);
      await db?.destroy();
    }
  };

  await Promise.all(Array.from({ length: lanes }, lane));
  if (st.failed) throw st.failed.error;
  return { logs: st.inserted, errorLogs: st.errorLogs };
}

// ---- PGlite: COPY FROM '/dev/blob' into a staging table, then move ----

/** The log tables whose secondary indexes a bulk seed into PGlite builds after the load. */
const DEFERRABLE_TABLES = ["LiteLLM_SpendLogs", "LiteLLM_ErrorLogs"] as const;

/** spendlens.meta key holding the definitions of indexes a seed dropped and has not rebuilt yet. */
const DEFERRED_KEY = "seed.deferred_indexes";

/**
 * The only index definitions a seed executes again: a plain (non-unique) btree index on one of the two
 * log tables over quoted or plain column names, as pg_get_indexdef prints the migrations' indexes.
 */
const DEFERRED_DEF =
  /^CREATE INDEX ("[A-Za-z0-9_]+"|[a-z0-9_]+) ON (ONLY )?public\."LiteLLM_(SpendLogs|ErrorLogs)" USING btree \((("[A-Za-z0-9_]+"|[a-z0-9_]+)(, )?)+\)$/;

interface DeferredIndex {
  name: string;
  def: string;
}

/**
 * Drops the secondary (non-unique) indexes of the log tables before a bulk load, when the load is
 * big against what the tables hold (at least a tenth of their rows): PGlite's single backend maintains
 * them row by row, while one CREATE INDEX after the load sorts once (BENCHMARKS.md, session 6). Their
 * definitions are kept in spendlens.meta first, in the same transaction, so a seed that dies midway
 * leaves them to the next seed (`restoreDeferredIndexes`) rather than losing them. The unique indexes
 * (primary keys, the request_id registries) stay: the load's deduplication needs them.
 */
async function deferLogIndexes(db: Db, incoming: number): Promise<DeferredIndex[]> {
  const est = await sql<{
    n: number;
  }>`SELECT coalesce(sum(c.reltuples) FILTER (WHERE c.reltuples > 0), 0)::float8 AS n
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = '"LiteLLM_SpendLogs"'::regclass`.execute(db);
  if (incoming * 10 < (est.rows[0]?.n ?? 0)) return [];
  return db.transaction().execute(async (trx) => {
    const r = await sql<DeferredIndex>`SELECT ic.relname AS name, pg_get_indexdef(x.indexrelid) AS def
      FROM pg_index x JOIN pg_class ic ON ic.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
      JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE n.nspname = 'public' AND t.relname IN (${sql.join([...DEFERRABLE_TABLES])})
        AND NOT x.indisunique AND NOT x.indisprimary ORDER BY ic.relname`.execute(trx);
    const idx = r.rows.filter((i) => DEFERRED_DEF.test(i.def));
    if (!idx.length) return [];
    await sql`INSERT INTO spendlens.meta (key, value) VALUES (${DEFERRED_KEY}, ${JSON.stringify(idx)})
      ON CONFLICT (key) DO UPDATE SET value = excluded.value`.execute(trx);
    for (const i of idx) await sql`DROP INDEX public.${sql.id(i.name)}`.execute(trx);
    return idx;
  });
}

/**
 * Builds the log indexes a bulk seed dropped (its own, or those of a seed that died before it could),
 * each from the definition it kept, checked against DEFERRED_DEF; an index that exists is left alone.
 */
export async function restoreDeferredIndexes(db: Db): Promise<number> {
  const m = await sql<{
    value: string;
  }>`SELECT value FROM spendlens.meta WHERE key = ${DEFERRED_KEY}`.execute(db);
  const raw = m.rows[0]?.value;
  if (raw === undefined) return 0;
  const idx = JSON.parse(raw) as DeferredIndex[];
  let made = 0;
  await db.transaction().execute(async (trx) => {
    await sql`SET LOCAL statement_timeout = 0`.execute(trx);
    for (const i of idx) {
      if (!DEFERRED_DEF.test(i.def)) throw new Error(`refusing to run a kept index definition: ${i.def}`);
      const there = await sql<{
        oid: string | null;
      }>`SELECT to_regclass(${`public.${JSON.stringify(i.name)}`})::text AS oid`.execute(trx);
      if (there.rows[0]?.oid) continue;
      // Matched DEFERRED_DEF: one of the log tables' btree indexes. pg_get_indexdef prints a partitioned
      // table's index as `ON ONLY` (the parent's alone); built here on every partition too.
      await sql.raw(i.def.replace(" ON ONLY public.", " ON public.")).execute(trx);
      made++;
    }
    await sql`DELETE FROM spendlens.meta WHERE key = ${DEFERRED_KEY}`.execute(trx);
  });
  return made;
}

/**
 * The PGlite seed: rollups paused (the triggers only mark days dirty), the log tables' secondary
 * indexes dropped when the load is big (deferLogIndexes), the chunks COPYed and moved, then the
 * indexes built and the touched days' rollups rebuilt once, in one transaction per run of days (each
 * rollup table filled by one set-based statement per run). maintenance_work_mem is raised for the index
 * builds and reset after. Every step after the load also runs when the load failed: the committed
 * chunks are in the raw logs, and neither the rollups nor the indexes may stay as the load left them.
 */
async function seedPglite(
  pglite: PGliteLike,
  db: Db,
  rows: Iterator<GeneratedRow>,
  opts: SeedOptions,
  t: SeedTimings,
): Promise<WriteCounts> {
  await timed(t, "restore_indexes", () => restoreDeferredIndexes(db));
  const paused = (opts.bulk ?? true) && (await pauseForBulk(db));
  const deferred =
    paused && (opts.deferIndexes ?? true)
      ? await timed(t, "drop_indexes", () => deferLogIndexes(db, opts.logs))
      : [];
  try {
    return await copyLogRowsPglite(pglite, db, { [Symbol.iterator]: () => rows }, opts, t);
  } finally {
    if (deferred.length) {
      await sql`SET maintenance_work_mem = '256MB'`.execute(db);
      try {
        await timed(t, "create_indexes", () => restoreDeferredIndexes(db));
      } finally {
        await sql`RESET maintenance_work_mem`.execute(db);
      }
    }
    if (paused) {
      await resumeRollups(db);
      await timed(t, "rebuild_rollups", () =>
        rebuildRollups(db, {
          scope: "dirty",
          chunkDays: 3660,
          ...(opts.onRebuild ? { onProgress: opts.onRebuild } : {}),
        }),
      );
    }
  }
}

/**
 * Writes spend logs (and their error logs) into PGlite, with counters: per chunk, one transaction that
 * COPYs the chunk's CSV (the same CsvWriter as on Postgres, handed to PGlite as a Blob) into temp staging
 * tables and moves it with one INSERT ... ON CONFLICT DO NOTHING, as `copyLogRows` does. PGlite is one
 * session, so there are no lanes.
 */
export async function copyLogRowsPglite(
  pglite: PGliteLike,
  db: Db,
  source: Iterable<GeneratedRow>,
  opts: Pick<SeedOptions, "logs" | "batchSize" | "onProgress">,
  t: SeedTimings = {},
): Promise<WriteCounts> {
  const rows = source[Symbol.iterator]();
  const chunkSize = Math.max(1, opts.batchSize ?? 50_000);
  let written = 0;
  let inserted = 0;
  let errorLogs = 0;
  for (;;) {
    const errors = new CsvWriter();
    const counter = { n: 0 };
    const t0 = performance.now();
    const blocks = [...logCsv(rows, chunkSize, errors, counter)];
    t.generate = (t.generate ?? 0) + Math.round(performance.now() - t0);
    if (!counter.n) break;
    errors.flush();
    await db.transaction().execute(async (trx) => {
      await sql`SET LOCAL statement_timeout = 0`.execute(trx);
      await sql.raw(`CREATE TEMP TABLE seed_logs (${colDefs(LOG_COLUMNS)}) ON COMMIT DROP`).execute(trx);
      await timed(t, "copy", () =>
        pglite.query(`COPY pg_temp.seed_logs (${colList(LOG_COLUMNS)}) FROM '/dev/blob' (FORMAT csv)`, [], {
          blob: new Blob(blocks as unknown as ConstructorParameters<typeof Blob>[0]),
        }),
      );
      const agg = await timed(t, "move", () => moveStagedLogs(trx, sql``));
      if (errors.ready.length) {
        await sql
          .raw(`CREATE TEMP TABLE seed_errors (${colDefs(ERROR_COLUMNS)}) ON COMMIT DROP`)
          .execute(trx);
        await pglite.query(
          `COPY pg_temp.seed_errors (${colList(ERROR_COLUMNS)}) FROM '/dev/blob' (FORMAT csv)`,
          [],
          { blob: new Blob(errors.ready as unknown as ConstructorParameters<typeof Blob>[0]) },
        );
        errorLogs += await moveStagedErrors(trx);
      }
      const deltas = emptyDeltas();
      for (const r of agg.rows) {
        inserted += r.n;
        addLogToDeltas(deltas, r);
      }
      await recordSpendDeltas(trx, deltas);
    });
    t.chunks_total = (t.chunks_total ?? 0) + Math.round(performance.now() - t0);
    written += counter.n;
    opts.onProgress?.(written, opts.logs);
    if (counter.n < chunkSize) break;
  }
  return { logs: inserted, errorLogs };
}

/** What copyLogRowsPglite needs of a PGlite instance. */
type PGliteLike = Pick<NonNullable<DbHandle["pglite"]>, "query">;

/**
 * Moves the staged chunk (pg_temp.seed_logs) into "LiteLLM_SpendLogs": request_ids already registered
 * (spendlens.spend_log_ids, partitioned standalone tables) or already stored (any unique index) are
 * skipped; answers the inserted logs per (key, user, team, end user) for the counters.
 */
function moveStagedLogs(trx: Db, order: RawBuilder<unknown>) {
  const cols = sql.raw(colList(LOG_COLUMNS)); // allowlisted column names
  return sql<{
    api_key: string;
    user: string | null;
    team_id: string | null;
    end_user: string | null;
    n: number;
    spend: number;
  }>`
    WITH ins AS (
      INSERT INTO "LiteLLM_SpendLogs" (${cols}) SELECT ${cols} FROM pg_temp.seed_logs AS v
      WHERE NOT EXISTS (SELECT 1 FROM spendlens.spend_log_ids k WHERE k.request_id = v.request_id)
      ${order}
      ON CONFLICT DO NOTHING
      RETURNING api_key, spend, "user", team_id, end_user)
    SELECT api_key, "user", team_id, end_user, count(*)::int AS n,
      coalesce(sum(spend) FILTER (WHERE spend > 0), 0)::float8 AS spend
    FROM ins GROUP BY api_key, "user", team_id, end_user`.execute(trx);
}

/** Moves the staged error logs (pg_temp.seed_errors) as `moveStagedLogs` does; answers how many went in. */
async function moveStagedErrors(trx: Db): Promise<number> {
  const ecols = sql.raw(colList(ERROR_COLUMNS)); // allowlisted column names
  const r = await sql`INSERT INTO "LiteLLM_ErrorLogs" (${ecols})
    SELECT ${ecols} FROM pg_temp.seed_errors AS v
    WHERE NOT EXISTS (SELECT 1 FROM spendlens.error_log_ids k WHERE k.request_id = v.request_id)
    ON CONFLICT DO NOTHING`.execute(trx);
  return Number(r.numAffectedRows ?? 0);
}
