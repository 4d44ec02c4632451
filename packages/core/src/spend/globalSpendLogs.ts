import { z } from "zod";
import { normalizeKeyFilter } from "../auth/hash.ts";
import { now } from "../clock.ts";
import type { Db } from "../db/connect.ts";
import { zFilter } from "../logs/inputs.ts";
import { spendTotals } from "../rollups/query.ts";
import { type Scope, scopeUserId } from "../scope.ts";
import { last30DaysFrom } from "../validation.ts";

export const globalSpendLogsInput = z.object({ api_key: zFilter.optional() }).optional();
export type GlobalSpendLogsInput = z.output<typeof globalSpendLogsInput>;

/**
 * A row of the original's views: MonthlyGlobalSpend {date, spend}; MonthlyGlobalSpendPerKey adds api_key;
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
 * LiteLLM_SpendLogs through the daily rollups (never from LiteLLM's views, which may be missing).
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
  const window = { from: last30DaysFrom(now()), to: null };
  const filters = key !== undefined ? { api_key: key } : {};
  if (user !== null) {
    const rows = await spendTotals(db, scope, {
      window,
      dims: ["day", "api_key", "user"],
      filters,
      orderBy: [{ by: "day" }, { by: "api_key" }],
    });
    return rows.map((r) => ({
      date: r.day as string,
      spend: r.spend,
      api_key: r.api_key as string,
      user: r.user ?? null,
    }));
  }
  if (key !== undefined) {
    const rows = await spendTotals(db, scope, {
      window,
      dims: ["day", "api_key"],
      filters,
      orderBy: [{ by: "day" }],
    });
    return rows.map((r) => ({ date: r.day as string, spend: r.spend, api_key: r.api_key as string }));
  }
  const rows = await spendTotals(db, scope, { window, dims: ["day"], orderBy: [{ by: "day" }] });
  return rows.map((r) => ({ date: r.day as string, spend: r.spend }));
}
