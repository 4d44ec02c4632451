import { type Kysely, type Migration, sql } from "kysely";
import { derivedRollupDdl } from "../../rollups/ddl_derived.ts";

/**
 * 0005_derived_rollups: rollup tables derived from version-1 ones by statement triggers on those
 * (rollups/ddl_derived.ts): `spendlens.end_user_daily` (spend per day and end user, from detail_daily)
 * for the end-user reports, and `spendlens.key_weekly` (key_daily per ISO week) for per-key reads over
 * weeks (top keys). Both are filled from their sources here. Touches no LiteLLM table and no earlier
 * migration's objects: the same in standalone and attach mode.
 *
 * FROZEN once shipped. The DDL is generated in rollups/ddl_derived.ts.
 */
async function up(db: Kysely<any>): Promise<void> {
  // The fill reads every detail_daily and key_daily row; a one-off that may outlast the statement timeout.
  await sql`SET LOCAL statement_timeout = 0`.execute(db);
  for (const stmt of derivedRollupDdl()) await sql.raw(stmt).execute(db); // generated from code, no input
}

/**
 * The test helpers cache a migrated database keyed by each migration's `up.toString()`; this one's
 * behaviour lives in the generated DDL, so its text is what identifies it.
 */
const identity = [Function.prototype.toString.call(up), ...derivedRollupDdl()].join(";\n");
const upWithText = (db: Kysely<any>) => up(db);
upWithText.toString = () => identity;
export const m0005_derived_rollups: Migration = { up: upWithText };
