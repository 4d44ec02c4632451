/** Demo data: `seedDemoData` writes the world and N generated logs through the loader that fits the engine. */
import { sql } from "kysely";
import type { Db, DbHandle } from "../db/connect.ts";
import { pauseRollups, rebuildRollups, resumeRollups, rollupStatus } from "../rollups/maintain.ts";
import { addLogToDeltas, emptyDeltas, foldSpendCounters, recordSpendDeltas } from "../spend/counters.ts";
import { copyLogRows } from "./copy.ts";
import { buildWorld, type DemoErrorLog, type DemoLog, generateLogs } from "./generate.ts";
import { insertErrorLogBatch, insertLogBatch, writeWorld } from "./insert.ts";
import { seedPglite } from "./pgliteBulk.ts";
import {
  BULK_DEFAULT,
  type GeneratedRow,
  type SeedOptions,
  type SeedResult,
  type SeedTimings,
  timed,
  type WriteCounts,
} from "./seedTypes.ts";

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
export async function pauseForBulk(db: Db): Promise<boolean> {
  const st = await rollupStatus(db);
  if (st.status !== "ready" || st.rawDeletedDays.length > 0 || st.missingTriggers.length > 0) return false;
  await pauseRollups(db);
  return true;
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
