import { type Kysely, type Migration, sql } from "kysely";
import { LOG_PAGE_INDEXES_V1, rollupDdlV1, SPEND_SOURCE_COLUMNS } from "../../rollups/ddl_v1.ts";

/**
 * 0003_rollups: daily rollup tables in schema `spendlens`, kept exact by statement-level triggers on
 * "LiteLLM_SpendLogs" and "LiteLLM_ErrorLogs" (whoever writes the logs), and a rebuild function.
 * On a database that already holds logs (attach mode, or an upgrade) the rollups are filled here, in the
 * migration's transaction: writers to the log tables wait until it commits (about 15 s per million
 * logs on a small machine; docs/scaling.md). In standalone mode it also adds the indexes that keyset
 * log pages need; in attach mode LiteLLM's tables get the triggers only.
 *
 * FROZEN once shipped. The DDL is generated from the version-1 grains (rollups/grains.ts, ddl_v1.ts).
 */

/** Columns rollups read that this "LiteLLM_SpendLogs" lacks (checkSchema requires all but organization_id). */
async function missingSpendColumns(db: Kysely<any>): Promise<Set<string>> {
  const r = await sql<{ column_name: string }>`SELECT column_name FROM information_schema.columns
    WHERE table_schema = 'public' AND table_name = 'LiteLLM_SpendLogs'`.execute(db);
  const have = new Set(r.rows.map((x) => x.column_name));
  return new Set(SPEND_SOURCE_COLUMNS.filter((c) => !have.has(c)));
}

async function up(db: Kysely<any>): Promise<void> {
  // The backfill below can outlast the pool's per-statement timeout; this is a one-off.
  await sql`SET LOCAL statement_timeout = 0`.execute(db);
  for (const stmt of rollupDdlV1({ missingSpendColumns: await missingSpendColumns(db) })) {
    await sql.raw(stmt).execute(db); // generated from code (grains.ts), no input
  }
  const mode = await sql<{ value: string }>`SELECT value FROM spendlens.meta WHERE key = 'mode'`.execute(db);
  if (mode.rows[0]?.value === "standalone") {
    for (const ix of LOG_PAGE_INDEXES_V1) await sql.raw(ix).execute(db);
  }
  // Existing logs: fill the rollups for every day that has any.
  const range = await sql<{ lo: string | null; hi: string | null }>`
    SELECT least(min(a.lo), min(b.lo))::text AS lo, greatest(max(a.hi), max(b.hi))::text AS hi FROM
      (SELECT spendlens.utc_day(min("startTime")) AS lo, spendlens.utc_day(max("startTime")) AS hi FROM "LiteLLM_SpendLogs") a,
      (SELECT spendlens.utc_day(min("startTime")) AS lo, spendlens.utc_day(max("startTime")) AS hi FROM "LiteLLM_ErrorLogs") b`.execute(
    db,
  );
  const { lo, hi } = range.rows[0] ?? { lo: null, hi: null };
  if (lo && hi) await sql`SELECT spendlens.rollups_rebuild_days(${lo}::date, ${hi}::date)`.execute(db);
}

/**
 * The test helpers cache a migrated database keyed by each migration's `up.toString()`; this one's
 * behaviour lives in the generated DDL, so its text is what identifies it.
 */
const identity = [
  Function.prototype.toString.call(up),
  ...rollupDdlV1({ missingSpendColumns: new Set() }),
  ...LOG_PAGE_INDEXES_V1,
].join(";\n");
const upWithText = (db: Kysely<any>) => up(db);
upWithText.toString = () => identity;
export const m0003_rollups: Migration = { up: upWithText };
