import { type Kysely, type Migration, sql } from "kysely";
import { ACTIVITY_SOURCE_COLUMNS, activityDdl } from "../../rollups/ddl_activity.ts";

/**
 * 0009_activity_rollups: the daily rollups behind LiteLLM's Usage page (rollups/ddl_activity.ts), kept
 * exact by their own statement triggers on "LiteLLM_SpendLogs". In standalone mode the log table that
 * spendlens created gains LiteLLM's newer nullable columns `agent_id` and `request_duration_ms` (a
 * catalog-only change); in attach mode LiteLLM's table gets the triggers only and a column it lacks reads
 * as NULL. Existing logs are filled here, in the migration's transaction (one scan of the logs).
 *
 * FROZEN once shipped.
 */

async function missingColumns(db: Kysely<any>): Promise<Set<string>> {
  const r = await sql<{ column_name: string }>`SELECT column_name FROM information_schema.columns
    WHERE table_schema = 'public' AND table_name = 'LiteLLM_SpendLogs'`.execute(db);
  const have = new Set(r.rows.map((x) => x.column_name));
  return new Set(ACTIVITY_SOURCE_COLUMNS.filter((c) => !have.has(c)));
}

async function up(db: Kysely<any>): Promise<void> {
  await sql`SET LOCAL statement_timeout = 0`.execute(db);
  const mode = await sql<{ value: string }>`SELECT value FROM spendlens.meta WHERE key = 'mode'`.execute(db);
  if (mode.rows[0]?.value === "standalone") {
    await sql`ALTER TABLE "LiteLLM_SpendLogs" ADD COLUMN IF NOT EXISTS agent_id text,
      ADD COLUMN IF NOT EXISTS request_duration_ms integer`.execute(db);
  }
  for (const stmt of activityDdl(await missingColumns(db))) {
    await sql.raw(stmt).execute(db); // generated from code (ddl_activity.ts), no input
  }
  const range = await sql<{ lo: string | null; hi: string | null }>`
    SELECT spendlens.utc_day(min("startTime"))::text AS lo, spendlens.utc_day(max("startTime"))::text AS hi
    FROM "LiteLLM_SpendLogs"`.execute(db);
  const { lo, hi } = range.rows[0] ?? { lo: null, hi: null };
  if (lo && hi) await sql`SELECT spendlens.activity_rollups_fill_days(${lo}::date, ${hi}::date)`.execute(db);
}

/** The test helpers cache a migrated database keyed by each migration's text (see 0003). */
const identity = [Function.prototype.toString.call(up), ...activityDdl(new Set())].join(";\n");
const upWithText = (db: Kysely<any>) => up(db);
upWithText.toString = () => identity;
export const m0009_activity_rollups: Migration = { up: upWithText };
