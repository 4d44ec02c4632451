import { sql } from "kysely";
import { z } from "zod";
import { normalizeKeyFilter } from "../auth/hash.ts";
import { now } from "../clock.ts";
import type { Db } from "../db/connect.ts";
import { zFilter } from "../logs/inputs.ts";
import { type Scope, scopeUserId } from "../scope.ts";
import { last30DaysFrom } from "../validation.ts";

export const globalSpendLogsInput = z.object({ api_key: zFilter.optional() }).optional();
export type GlobalSpendLogsInput = z.output<typeof globalSpendLogsInput>;

/**
 * A row of the seed's views: MonthlyGlobalSpend {date, spend}; MonthlyGlobalSpendPerKey adds api_key;
 * MonthlyGlobalSpendPerUserPerKey adds api_key and user.
 */
export interface DailySpendRow {
  /** YYYY-MM-DD (UTC). */
  date: string;
  spend: number;
  api_key?: string;
  user?: string | null;
}

/**
 * GET /global/spend/logs: spend per day since UTC midnight 30 days ago, ordered by date, computed from
 * LiteLLM_SpendLogs (never from LiteLLM's views, which may be missing).
 * - admins, no api_key: MonthlyGlobalSpend rows {date, spend};
 * - admins, api_key (raw sk- keys are hashed): MonthlyGlobalSpendPerKey rows {date, spend, api_key};
 * - internal users: MonthlyGlobalSpendPerUserPerKey rows {date, spend, api_key, user} of their own
 *   logs, one per day and key (optionally one key).
 */
export async function globalSpendLogs(
  db: Db,
  scope: Scope,
  input: GlobalSpendLogsInput,
): Promise<DailySpendRow[]> {
  const user = scopeUserId(scope);
  const key = input?.api_key !== undefined ? normalizeKeyFilter(input.api_key) : undefined;
  const day = sql<string>`("startTime")::date`;
  const base = db
    .selectFrom("LiteLLM_SpendLogs")
    .where("startTime", ">=", last30DaysFrom(now()))
    .$if(key !== undefined, (q) => q.where("api_key", "=", key!));
  const spend = sql<number>`coalesce(sum(spend), 0)::float8`.as("spend");

  if (user !== null) {
    return base
      .select([day.as("date"), spend, "api_key", "user"])
      .where("user", "=", user)
      .groupBy([day, "user", "api_key"])
      .orderBy("date")
      .orderBy("api_key")
      .execute();
  }
  if (key !== undefined) {
    return base
      .select([day.as("date"), spend, "api_key"])
      .groupBy([day, "api_key"])
      .orderBy("date")
      .execute();
  }
  return base
    .select([day.as("date"), spend])
    .groupBy(day)
    .orderBy("date")
    .execute();
}
