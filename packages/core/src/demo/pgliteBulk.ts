/** The PGlite bulk loader: log indexes deferred around a big load, COPY through PGlite, staged rows moved. */
import { type RawBuilder, sql } from "kysely";
import type { Db, DbHandle } from "../db/connect.ts";
import { rebuildRollups, resumeRollups } from "../rollups/maintain.ts";
import { addLogToDeltas, emptyDeltas, recordSpendDeltas } from "../spend/counters.ts";
import { CsvWriter, colDefs, colList, ERROR_COLUMNS, LOG_COLUMNS, logCsv } from "./copy.ts";
import {
  type GeneratedRow,
  type SeedOptions,
  type SeedTimings,
  timed,
  type WriteCounts,
} from "./seedTypes.ts";
import { pauseForBulk } from "./write.ts";

export const DEFERRABLE_TABLES = ["LiteLLM_SpendLogs", "LiteLLM_ErrorLogs"] as const;

/** spendlens.meta key holding the definitions of indexes a seed dropped and has not rebuilt yet. */
export const DEFERRED_KEY = "seed.deferred_indexes";

/**
 * The only index definitions a seed executes again: a plain (non-unique) btree index on one of the two
 * log tables over quoted or plain column names, as pg_get_indexdef prints the migrations' indexes.
 */
export const DEFERRED_DEF =
  /^CREATE INDEX ("[A-Za-z0-9_]+"|[a-z0-9_]+) ON (ONLY )?public\."LiteLLM_(SpendLogs|ErrorLogs)" USING btree \((("[A-Za-z0-9_]+"|[a-z0-9_]+)(, )?)+\)$/;

export interface DeferredIndex {
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
export async function deferLogIndexes(db: Db, incoming: number): Promise<DeferredIndex[]> {
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
export async function seedPglite(
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
    const c0 = process.cpuUsage();
    const blocks = [...logCsv(rows, chunkSize, errors, counter)];
    t.generate = (t.generate ?? 0) + Math.round(performance.now() - t0);
    const c = process.cpuUsage(c0);
    t.cpu_generate = (t.cpu_generate ?? 0) + Math.round((c.user + c.system) / 1000);
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
      // In request_id order: the month partitions' primary keys (request_id, "startTime") and the
      // request_id registry take each chunk as one ordered pass instead of random inserts.
      const agg = await timed(t, "move", () => moveStagedLogs(trx, sql`ORDER BY request_id`));
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
export type PGliteLike = Pick<NonNullable<DbHandle["pglite"]>, "query">;

/**
 * Moves the staged chunk (pg_temp.seed_logs) into "LiteLLM_SpendLogs": request_ids already registered
 * (spendlens.spend_log_ids, partitioned standalone tables) or already stored (any unique index) are
 * skipped; answers the inserted logs per (key, user, team, end user) for the counters.
 */
export function moveStagedLogs(trx: Db, order: RawBuilder<unknown>) {
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
export async function moveStagedErrors(trx: Db): Promise<number> {
  const ecols = sql.raw(colList(ERROR_COLUMNS)); // allowlisted column names
  const r = await sql`INSERT INTO "LiteLLM_ErrorLogs" (${ecols})
    SELECT ${ecols} FROM pg_temp.seed_errors AS v
    WHERE NOT EXISTS (SELECT 1 FROM spendlens.error_log_ids k WHERE k.request_id = v.request_id)
    ON CONFLICT DO NOTHING`.execute(trx);
  return Number(r.numAffectedRows ?? 0);
}
