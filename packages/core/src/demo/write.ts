import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Kysely, PostgresDialect, sql } from "kysely";
import type pg from "pg";
import pgCopy from "pg-copy-streams";
import type { Db, DbHandle } from "../db/connect.ts";
import type { Database } from "../db/schema.ts";
import { addLogToDeltas, applySpendDeltas, emptyDeltas } from "../spend/counters.ts";
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
}

export interface SeedResult {
  logs: number;
  errorLogs: number;
  keys: number;
  users: number;
  teams: number;
  world: DemoWorld;
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
    ON CONFLICT (request_id) DO NOTHING
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
    ON CONFLICT (request_id) DO NOTHING`.execute(db);
  return Number(r.numAffectedRows ?? 0);
}

type GeneratedRow = { log: DemoLog; error: DemoErrorLog | null };

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
  const handle = target instanceof Kysely ? null : target;
  const db: Db = handle ? handle.db : (target as Db);
  const world = buildWorld(opts);
  await writeWorld(db, world);
  const rows = generateLogs(world, opts.logs, opts);
  const counts =
    handle?.engine === "postgres" && handle.pool
      ? await copyLogs(handle.pool, rows, opts)
      : await insertLogs(db, rows, opts);
  return { ...counts, keys: world.keys.length, users: world.users.length, teams: world.teams.length, world };
}

interface WriteCounts {
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
      await applySpendDeltas(trx, deltas);
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

/**
 * One CSV field. Every non-null string is quoted, so '' stays an empty string and the unquoted empty
 * field means NULL; quotes are doubled, and commas, CR/LF and a lone `\.` are safe inside quotes.
 * Numbers use JS's shortest round-trip form, which float8/int input parses back exactly.
 */
function csvField(v: string | number | null | undefined): string {
  if (v == null) return "";
  if (typeof v === "number") return String(v);
  return v.includes('"') ? `"${v.replaceAll('"', '""')}"` : `"${v}"`;
}

/** One CSV line (without the newline) for `row`, fields in `cols` order. */
export function csvLine<T>(row: T, cols: ReadonlyArray<readonly [keyof T & string, string]>): string {
  let line = csvField(row[cols[0]![0]] as string | number | null | undefined);
  for (let i = 1; i < cols.length; i++)
    line += `,${csvField(row[cols[i]![0]] as string | number | null | undefined)}`;
  return line;
}

/** CSV text is handed to COPY in pieces of about this many characters. */
const CSV_PIECE = 64 * 1024;

/**
 * Pulls up to `limit` rows from the shared generator as CSV text pieces; the chunk's error logs are
 * collected (as CSV lines) in `errorLines`. Only one piece is held at a time.
 */
function* logCsv(
  rows: Iterator<GeneratedRow>,
  limit: number,
  errorLines: string[],
  counter: { n: number },
): Generator<string> {
  let piece = "";
  while (counter.n < limit) {
    const r = rows.next();
    if (r.done) break;
    counter.n++;
    piece += `${csvLine(r.value.log, LOG_COLUMNS)}\n`;
    if (r.value.error) errorLines.push(csvLine(r.value.error, ERROR_COLUMNS));
    if (piece.length >= CSV_PIECE) {
      yield piece;
      piece = "";
    }
  }
  if (piece) yield piece;
}

async function copyIn(
  client: pg.PoolClient,
  table: string,
  cols: ReadonlyArray<readonly [string, string]>,
  source: Iterable<string>,
): Promise<void> {
  const stream = client.query(pgCopy.from(`COPY ${table} (${colList(cols)}) FROM STDIN (FORMAT csv)`));
  await pipeline(Readable.from(source), stream);
}

/** A Kysely instance that runs every query on one checked-out client (so temp tables and COPY share a session). */
function pinnedKysely(client: pg.PoolClient): Db {
  const conn = { query: client.query.bind(client), release: () => {} };
  return new Kysely<Database>({
    dialect: new PostgresDialect({ pool: { connect: async () => conn as never, end: async () => {} } }),
  });
}

/** A turn in a sequence: `wait` resolves when the previous holder called `done`. */
function takeTurn(prev: Promise<void>): { wait: Promise<void>; done: () => void; next: Promise<void> } {
  let done!: () => void;
  const next = new Promise<void>((r) => (done = r));
  return { wait: prev, done, next };
}

/**
 * Postgres path. Each chunk is one transaction on a dedicated connection:
 *   1. COPY the chunk's logs (CSV generated on the fly) into a temp staging table;
 *   2. INSERT them into "LiteLLM_SpendLogs" ON CONFLICT (request_id) DO NOTHING, aggregating the
 *      spend of the rows actually inserted in SQL (RETURNING feeds a GROUP BY, not the client);
 *   3. the same COPY + move for the chunk's error logs;
 *   4. apply the deltas with applySpendDeltas (`spend = spend + delta`, ids in sorted order) and commit.
 * Two connections ("lanes") alternate chunks so that generating/COPYing chunk k+1 overlaps the move of
 * chunk k. COPYs run in chunk order (the generator is shared), and so do counter updates and commits:
 * chunk k+1 touches the counters only after chunk k committed, so the lanes never wait on each other's
 * row locks and progress is reported in order.
 */
async function copyLogs(
  pool: pg.Pool,
  rows: Iterator<GeneratedRow>,
  opts: SeedOptions,
): Promise<WriteCounts> {
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
  let applyGate = Promise.resolve();
  const stop = new Error("seed aborted: another chunk failed");

  const lane = async (): Promise<void> => {
    let client: pg.PoolClient | undefined;
    let clientBroken = false;
    let db: Db | undefined;
    try {
      client = await pool.connect();
      db = pinnedKysely(client);
      const c = client;
      while (!st.exhausted && !st.failed) {
        // Take this chunk's places in both sequences before yielding to the other lane.
        const copy = takeTurn(copyGate);
        copyGate = copy.next;
        const apply = takeTurn(applyGate);
        applyGate = apply.next;
        const counter = { n: 0 };
        try {
          await copy.wait;
          if (st.exhausted || st.failed) break;
          const errorLines: string[] = [];
          await db.transaction().execute(async (trx) => {
            // A chunk's statements can outlast the pool's per-statement timeout; seeding is a one-off bulk job.
            await sql`SET LOCAL statement_timeout = 0`.execute(trx);
            await sql
              .raw(`CREATE TEMP TABLE seed_logs (${colDefs(LOG_COLUMNS)}) ON COMMIT DROP`)
              .execute(trx);
            try {
              await copyIn(c, "seed_logs", LOG_COLUMNS, logCsv(rows, chunkSize, errorLines, counter));
            } catch (err) {
              clientBroken = true;
              throw err;
            }
            if (counter.n < chunkSize) st.exhausted = true;
            copy.done();
            if (!counter.n) return;
            const cols = sql.raw(colList(LOG_COLUMNS));
            const agg = await sql<{
              api_key: string;
              user: string | null;
              team_id: string | null;
              end_user: string | null;
              n: number;
              spend: number;
            }>`
              WITH ins AS (
                INSERT INTO "LiteLLM_SpendLogs" (${cols}) SELECT ${cols} FROM seed_logs
                ON CONFLICT (request_id) DO NOTHING
                RETURNING api_key, spend, "user", team_id, end_user)
              SELECT api_key, "user", team_id, end_user, count(*)::int AS n,
                coalesce(sum(spend) FILTER (WHERE spend > 0), 0)::float8 AS spend
              FROM ins GROUP BY api_key, "user", team_id, end_user`.execute(trx);
            let errorsInserted = 0;
            if (errorLines.length) {
              await sql
                .raw(`CREATE TEMP TABLE seed_errors (${colDefs(ERROR_COLUMNS)}) ON COMMIT DROP`)
                .execute(trx);
              await copyIn(c, "seed_errors", ERROR_COLUMNS, [`${errorLines.join("\n")}\n`]);
              const ecols = sql.raw(colList(ERROR_COLUMNS));
              const r = await sql`INSERT INTO "LiteLLM_ErrorLogs" (${ecols}) SELECT ${ecols} FROM seed_errors
                ON CONFLICT (request_id) DO NOTHING`.execute(trx);
              errorsInserted = Number(r.numAffectedRows ?? 0);
            }
            await apply.wait;
            if (st.failed) throw stop; // roll back: an earlier chunk failed
            const deltas = emptyDeltas();
            let inserted = 0;
            for (const r of agg.rows) {
              inserted += r.n;
              addLogToDeltas(deltas, r);
            }
            await applySpendDeltas(trx, deltas);
            st.inserted += inserted;
            st.errorLogs += errorsInserted;
          });
          if (counter.n) {
            st.written += counter.n;
            opts.onProgress?.(st.written, opts.logs);
          }
        } catch (error) {
          st.failed ??= { error }; // before the turns are handed on, so the other lane sees it
          throw error;
        } finally {
          copy.done();
          // Keep the apply order even when this chunk ends early.
          void apply.wait.then(apply.done);
        }
      }
    } catch (error) {
      st.failed ??= { error };
    } finally {
      // A client whose COPY broke is discarded rather than returned to the pool.
      client?.release(clientBroken || undefined);
      await db?.destroy();
    }
  };

  await Promise.all(Array.from({ length: lanes }, lane));
  if (st.failed) throw st.failed.error;
  return { logs: st.inserted, errorLogs: st.errorLogs };
}
