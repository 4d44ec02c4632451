import type { Db } from "../db/connect.ts";
import { schemaFacts } from "../db/schemaFacts.ts";

/**
 * Columns of "LiteLLM_SpendLogs" and their types, from the database's schema facts (db/schemaFacts.ts,
 * probed once): an older LiteLLM has no organization_id (it then reads as NULL), and a hand-made table
 * may hold "startTime" as timestamptz (bounds are then passed as timestamptz, so they still mean UTC
 * instants).
 */
export interface SpendLogColumns {
  has(name: string): boolean;
  /** True when "startTime" is `timestamp with time zone`. */
  startTimeHasZone: boolean;
}

export async function spendLogColumns(db: Db): Promise<SpendLogColumns> {
  const f = await schemaFacts(db);
  return { has: (name) => f.spendLogColumns.has(name), startTimeHasZone: f.startTimeHasZone };
}
