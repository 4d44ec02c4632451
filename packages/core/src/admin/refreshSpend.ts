import { sql } from "kysely";
import type { Db } from "../db/connect.ts";
import { classifyDbError, forbidden, SpendlensError } from "../errors.ts";
import { rebuildRollups } from "../rollups/maintain.ts";
import type { Scope } from "../scope.ts";

/** What the spendlens side of a refresh did. */
export interface DerivedRefreshReport {
  /** Names of the derived objects brought up to date: `rollups` when dirty rollup days were rebuilt. */
  refreshed: string[];
  /** How many dirty rollup days were rebuilt (absent when none). */
  rollupDays?: number;
}

/**
 * Brings spendlens's own derived spend data up to date with LiteLLM_SpendLogs: rebuilds the rollup days
 * marked dirty (a failed or paused trigger; see rollups/maintain.ts `rebuildRollups`). Reports read dirty
 * days from the raw logs, so answers are exact either way; rebuilding makes them fast again.
 * POST /global/spend/refresh calls it first.
 */
export async function refreshDerivedSpend(db: Db): Promise<DerivedRefreshReport> {
  const r = await rebuildRollups(db, { scope: "dirty" });
  return r.days > 0 ? { refreshed: ["rollups"], rollupDays: r.days } : { refreshed: [] };
}

export type RefreshSpendResult =
  | { message: "MonthlyGlobalSpend view refreshed"; status: "success" }
  | { message: "Failed to refresh materialized view"; status: "failure" }
  | { message: "MonthlyGlobalSpend is not a materialized view: nothing to refresh"; status: "success" };

/** True when "MonthlyGlobalSpend" (as the search path resolves it) is a materialized view (relkind 'm'). */
export async function isMaterializedGlobalSpendView(db: Db): Promise<boolean> {
  const r = await sql<{ relkind: string }>`
    SELECT c.relkind::text AS relkind FROM pg_class c
    WHERE c.oid = to_regclass(${'"MonthlyGlobalSpend"'})`.execute(db);
  return r.rows[0]?.relkind === "m";
}

/** How long the REFRESH may run (a month of logs on a big database takes a while). */
const REFRESH_TIMEOUT_MS = 10 * 60_000;

/**
 * POST /global/spend/refresh: refreshes spendlens's derived data (`refreshDerivedSpend`), then, when
 * the attached LiteLLM database has "MonthlyGlobalSpend" as a materialized view, refreshes it. The
 * answers are the original's; when the view is absent or a plain view the original answered null, spendlens says
 * there is nothing to refresh.
 */
export async function refreshSpend(db: Db, scope: Scope): Promise<RefreshSpendResult> {
  if (scope.kind !== "all") throw forbidden("only proxy_admin may refresh spend");
  await refreshDerivedSpend(db);
  if (!(await isMaterializedGlobalSpendView(db))) {
    return {
      message: "MonthlyGlobalSpend is not a materialized view: nothing to refresh",
      status: "success",
    };
  }
  try {
    await db.transaction().execute(async (trx) => {
      await sql`SELECT set_config('statement_timeout', ${String(REFRESH_TIMEOUT_MS)}, true)`.execute(trx);
      await sql`REFRESH MATERIALIZED VIEW "MonthlyGlobalSpend"`.execute(trx);
    });
    return { message: "MonthlyGlobalSpend view refreshed", status: "success" };
  } catch (e) {
    // A database that is down or a refresh past the timeout is reported as such (503/504).
    const classified = classifyDbError(e);
    if (classified instanceof SpendlensError) throw classified;
    return { message: "Failed to refresh materialized view", status: "failure" };
  }
}
