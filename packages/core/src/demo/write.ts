import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Kysely, PostgresDialect, sql } from "kysely";
import type pg from "pg";
import pgCopy from "pg-copy-streams";
import type { Db, DbHandle } from "../db/connect.ts";
import type { Database } from "../db/schema.ts";
import { addLogToDeltas, applySpendDeltas, emptyDeltas } from "../spend/counters.ts";
import { buildWorld, type DemoErrorLog, type DemoLog, type DemoWorld, generateLogs, type WorldOptions } from "./generate.ts";

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
  const r = await sql<{ api_key: string; spend: number; user: string | null; team_id: string | null; end_user: string | null }>`
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
  const r = await sql`INSERT INTO "LiteLLM_ErrorLogs" (request_id, "startTime", "endTime", api_base, model_group,
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
  const counts = handle?.engine === "postgres" && handle.pool
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
  ["request_id", "text"], ["call_type", "text"], ["api_key", "text"], ["spend", "double precision"],
  ["total_tokens", "integer"], ["prompt_tokens", "integer"], ["completion_tokens", "integer"],
  ["startTime", "timestamp(3)"], ["endTime", "timestamp(3)"], ["model", "text"], ["model_id", "text"],
  ["model_group", "text"], ["custom_llm_provider", "text"], ["api_base", "text"], ["user", "text"],
  ["metadata", "jsonb"], ["cache_hit", "text"], ["request_tags", "jsonb"], ["team_id", "text"],
  ["end_user", "text"], ["status", "text"],
] as const satisfies ReadonlyArray<readonly [keyof DemoLog, string]>;

const ERROR_COLUMNS = [
  ["request_id", "text"], ["startTime", "timestamp(3)"], ["endTime", "timestamp(3)"], ["api_base", "text"],
  ["model_group", "text"], ["litellm_model_name", "text"], ["model_id", "text"], ["exception_type", "text"],
  ["status_code", "text"],
] as const satisfies ReadonlyArray<readonly [keyof DemoErrorLog, string]>;

const colList = (cols: ReadonlyArray<readonly [string, string]>) => cols.map(([c]) => `"${c}"`).join(", ");
const colDefs = (cols: ReadonlyArray<readonly [string, string]>) => cols.map(([c, t]) => `"${c}" ${t}`).join(", ");

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

function csvLine<T>(row: T, cols: ReadonlyArray<readonly [keyof T & string, string]>): string {
  let line = "";
  for (let i = 0; i < cols.length; i++) {
    if (i) line += ",";
    line += csvField(row[cols[i]![0]] as string | number | null | undefined);
  }
  return line;
}

/** Pulls up to `limit` rows as CSV text in pieces of ~1000 lines; error logs go to `errorLines`. */
function* logCsv(rows: Iterator<GeneratedRow>, limit: number, errorLines: string[], counter: { n: number }): Generator<string> {
  let piece: string[] = [];
  while (counter.n < limit) {
    const r = rows.next();
    if (r.done) break;
    counter.n++;
    piece.push(csvLine(r.value.log, LOG_COLUMNS));
    if (r.value.error) errorLines.push(csvLine(r.value.error, ERROR_COLUMNS));
    if (piece.length >= 1000) {
      yield `${piece.join("\n")}\n`;
      piece = [];
    }
  }
  if (piece.length) yield `${piece.join("\n")}\n`;
}

async function copyIn(client: pg.PoolClient, table: string, cols: ReadonlyArray<readonly [string, string]>, source: Iterable<string>): Promise<void> {
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

/**
 * Per chunk, in one transaction: COPY the logs into a temp staging table, INSERT them into
 * "LiteLLM_SpendLogs" ON CONFLICT DO NOTHING, aggregate the inserted rows' spend in SQL, apply those
 * deltas to the counters (ids locked in sorted order by applySpendDeltas), then the same COPY + move
 * for the chunk's error logs. Only one chunk's CSV is produced at a time.
 */
async function copyLogs(pool: pg.Pool, rows: Iterator<GeneratedRow>, opts: SeedOptions): Promise<WriteCounts> {
  const chunkSize = Math.max(1, opts.batchSize ?? 100_000);
  const client = await pool.connect();
  const db = pinnedKysely(client);
  let failed: unknown;
  let written = 0;
  let inserted = 0;
  let errorLogs = 0;
  try {
    for (;;) {
      const counter = { n: 0 };
      const errorLines: string[] = [];
      await db.transaction().execute(async (trx) => {
        // A chunk's statements can outlast the pool's per-statement timeout; seeding is a one-off bulk job.
        await sql`SET LOCAL statement_timeout = 0`.execute(trx);
        await sql.raw(`CREATE TEMP TABLE seed_logs (${colDefs(LOG_COLUMNS)}) ON COMMIT DROP`).execute(trx);
        await copyIn(client, "seed_logs", LOG_COLUMNS, logCsv(rows, chunkSize, errorLines, counter));
        if (!counter.n) return;
        const cols = sql.raw(colList(LOG_COLUMNS));
        const agg = await sql<{ api_key: string; user: string | null; team_id: string | null; end_user: string | null; n: number; spend: number }>`
          WITH ins AS (
            INSERT INTO "LiteLLM_SpendLogs" (${cols}) SELECT ${cols} FROM seed_logs
            ON CONFLICT (request_id) DO NOTHING
            RETURNING api_key, spend, "user", team_id, end_user)
          SELECT api_key, "user", team_id, end_user, count(*)::int AS n,
            coalesce(sum(spend) FILTER (WHERE spend > 0), 0)::float8 AS spend
          FROM ins GROUP BY api_key, "user", team_id, end_user`.execute(trx);
        const deltas = emptyDeltas();
        for (const r of agg.rows) {
          inserted += r.n;
          addLogToDeltas(deltas, r);
        }
        await applySpendDeltas(trx, deltas);
        if (errorLines.length) {
          await sql.raw(`CREATE TEMP TABLE seed_errors (${colDefs(ERROR_COLUMNS)}) ON COMMIT DROP`).execute(trx);
          await copyIn(client, "seed_errors", ERROR_COLUMNS, [`${errorLines.join("\n")}\n`]);
          const ecols = sql.raw(colList(ERROR_COLUMNS));
          const r = await sql`INSERT INTO "LiteLLM_ErrorLogs" (${ecols}) SELECT ${ecols} FROM seed_errors
            ON CONFLICT (request_id) DO NOTHING`.execute(trx);
          errorLogs += Number(r.numAffectedRows ?? 0);
        }
      });
      if (!counter.n) break;
      written += counter.n;
      opts.onProgress?.(written, opts.logs);
      if (counter.n < chunkSize) break;
    }
  } catch (err) {
    failed = err;
    throw err;
  } finally {
    // A client whose COPY or transaction failed is discarded rather than reused.
    client.release(failed ? (failed instanceof Error ? failed : true) : undefined);
    await db.destroy();
  }
  return { logs: inserted, errorLogs };
}
