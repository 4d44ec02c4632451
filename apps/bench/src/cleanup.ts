import type { DbHandle } from "@spendlens/core";
import { setRollupDeleteMode } from "@spendlens/core/demo";
import { sql } from "kysely";

/**
 * Delete the logs a bench wrote (request_id starting with `prefix`) with the rollups' delete mode
 * 'subtract': the rollups lose them too, so the data set is put back as it was.
 */
export async function removeBenchLogs(h: DbHandle, prefix: string): Promise<void> {
  await setRollupDeleteMode(h.db, "subtract");
  try {
    await sql`DELETE FROM "LiteLLM_SpendLogs" WHERE request_id LIKE ${`${prefix}%`}`.execute(h.db);
  } finally {
    await setRollupDeleteMode(h.db, "keep");
  }
}
