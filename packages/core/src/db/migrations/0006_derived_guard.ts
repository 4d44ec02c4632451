import { type Kysely, type Migration, sql } from "kysely";
import { derivedGuardDdl } from "../../rollups/ddl_derived.ts";

/**
 * 0006_derived_guard: replaces 0005's update trigger functions of the derived rollups (key_weekly from
 * key_daily, end_user_daily from detail_daily) with ones that look for emptied rows only when a source
 * row lost requests (rollups/ddl_derived.ts, `derivedGuardDdl`). Same tables, same triggers, same
 * results; every log insert stops scanning the touched weeks of key_weekly and days of end_user_daily.
 * Touches no LiteLLM table: the same in standalone and attach mode.
 *
 * FROZEN once shipped. The DDL is generated in rollups/ddl_derived.ts.
 */
async function up(db: Kysely<any>): Promise<void> {
  for (const stmt of derivedGuardDdl()) await sql.raw(stmt).execute(db); // generated from code, no input
}

/** The test helpers cache a migrated database keyed by each migration's text (see 0005). */
const identity = [Function.prototype.toString.call(up), ...derivedGuardDdl()].join(";\n");
const upWithText = (db: Kysely<any>) => up(db);
upWithText.toString = () => identity;
export const m0006_derived_guard: Migration = { up: upWithText };
