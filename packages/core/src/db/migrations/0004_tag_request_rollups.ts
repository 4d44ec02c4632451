import { type Kysely, type Migration, sql } from "kysely";
import { SPEND_SOURCE_COLUMNS } from "../../rollups/ddl_v1.ts";
import { rollupDdlV2 } from "../../rollups/ddl_v2.ts";

/**
 * 0004_tag_request_rollups: tag grains with the tag reports' semantics (each request counts once per
 * distinct non-null tag), per (day, tag) and per (day, user, tag), kept exact by their own statement
 * triggers on "LiteLLM_SpendLogs" and rebuilt by spendlens.rollups_rebuild_days (replaced here). On a
 * database that already holds logs the new tables are filled here, in the migration's transaction
 * (writers to "LiteLLM_SpendLogs" wait until it commits: one scan of the logs). Attach mode: triggers
 * only, no index on LiteLLM's table.
 *
 * FROZEN once shipped. The DDL is generated in rollups/ddl_v2.ts.
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
  for (const stmt of rollupDdlV2({ missingSpendColumns: await missingSpendColumns(db) })) {
    await sql.raw(stmt).execute(db); // generated from code (ddl_v2.ts), no input
  }
  // Existing logs (the triggers above already hold off writers until this transaction commits).
  const range = await sql<{ lo: string | null; hi: string | null }>`
    SELECT spendlens.utc_day(min("startTime"))::text AS lo, spendlens.utc_day(max("startTime"))::text AS hi
    FROM "LiteLLM_SpendLogs"`.execute(db);
  const { lo, hi } = range.rows[0] ?? { lo: null, hi: null };
  if (lo && hi)
    await sql`SELECT spendlens.tag_request_rollups_fill_days(${lo}::date, ${hi}::date)`.execute(db);
}

/**
 * The test helpers cache a migrated database keyed by each migration's `up.toString()`; this one's
 * behaviour lives in the generated DDL, so its text is what identifies it.
 */
const identity = [
  Function.prototype.toString.call(up),
  ...rollupDdlV2({ missingSpendColumns: new Set() }),
].join(";\n");
const upWithText = (db: Kysely<any>) => up(db);
upWithText.toString = () => identity;
export const m0004_tag_request_rollups: Migration = { up: upWithText };
