import { now } from "../clock.ts";
import type { SpendlensConfig } from "../config/config.ts";
import type { Db } from "../db/connect.ts";
import { spendTotals } from "../rollups/query.ts";
import type { Scope } from "../scope.ts";
import { last30DaysFrom } from "../validation.ts";

export interface GlobalSpend {
  /** Total spend since UTC midnight 30 days ago (the original's MonthlyGlobalSpend window). */
  spend: number;
  /** `litellm_settings.max_budget` from the config; 0 when unset, as LiteLLM's default. */
  max_budget: number;
}

/**
 * GET /global/spend: total spend over the last 30 days and the configured max budget.
 * Reads the daily rollups (model_daily for admins, the user's key_daily rows for an internal user):
 * about 31 × (model deployments) rows however many logs there are. The window starts at a UTC
 * midnight and has no end, so it is whole days only and never touches the raw logs (unless a day is
 * marked dirty, see rollups/query.ts).
 */
export async function globalSpend(
  db: Db,
  scope: Scope,
  config: Pick<SpendlensConfig, "maxBudget">,
): Promise<GlobalSpend> {
  const [row] = await spendTotals(db, scope, { window: { from: last30DaysFrom(now()), to: null } });
  return { spend: row?.spend ?? 0, max_budget: config.maxBudget ?? 0 };
}
