import { sql } from "kysely";
import { now } from "../clock.ts";
import type { SpendlensConfig } from "../config/config.ts";
import type { Db } from "../db/connect.ts";
import { type Scope, scopeUserId } from "../scope.ts";
import { last30DaysFrom } from "../validation.ts";

export interface GlobalSpend {
  /** Total spend since UTC midnight 30 days ago (the seed's MonthlyGlobalSpend window). */
  spend: number;
  /** `litellm_settings.max_budget` from the config; 0 when unset, as LiteLLM's default. */
  max_budget: number;
}

/** GET /global/spend: total spend over the last 30 days and the configured max budget. */
export async function globalSpend(
  db: Db,
  scope: Scope,
  config: Pick<SpendlensConfig, "maxBudget">,
): Promise<GlobalSpend> {
  const user = scopeUserId(scope);
  const row = await db
    .selectFrom("LiteLLM_SpendLogs")
    .select(sql<number>`coalesce(sum(spend), 0)::float8`.as("spend"))
    .where("startTime", ">=", last30DaysFrom(now()))
    .$if(user !== null, (q) => q.where("user", "=", user))
    .executeTakeFirstOrThrow();
  return { spend: row.spend, max_budget: config.maxBudget ?? 0 };
}
