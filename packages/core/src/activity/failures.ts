import { sql } from "kysely";
import { z } from "zod";
import type { Db } from "../db/connect.ts";
import { dayRangeShape } from "../reports/sqlParts.ts";
import { type Scope, scopeUserId } from "../scope.ts";
import { checkDayRange } from "../validation.ts";
import { activitySourceSql } from "./dailyActivity.ts";

/**
 * GET /spendlens/activity/failures: requests, successes and failures (LiteLLM's daily-activity
 * definition: a spend log whose status is 'failure') per UTC day, model group and model, from the
 * activity rollups (dirty days from the raw logs, in the same statement: exact). The dashboard's failure
 * panels: the same numbers as /user/daily/activity/aggregated's breakdowns, without its per-key detail
 * (which is hundreds of MB for a month of 10M logs). Internal users: their own logs.
 */

export const activityFailuresInput = z.object(dayRangeShape).superRefine(checkDayRange);
export type ActivityFailuresInput = z.infer<typeof activityFailuresInput>;

export interface ActivityFailuresRow {
  /** UTC day, YYYY-MM-DD. */
  date: string;
  /** '' for logs without one. */
  model_group: string;
  model: string;
  api_requests: number;
  successful_requests: number;
  failed_requests: number;
}

export async function activityFailures(
  db: Db,
  scope: Scope,
  input: ActivityFailuresInput,
): Promise<{ rows: ActivityFailuresRow[] }> {
  const me = scopeUserId(scope);
  const cte = await activitySourceSql(db, false, input.start_date, input.end_date, (a) =>
    me === null ? [] : [sql`${sql.ref(`${a}.user`)} = ${me}`],
  );
  const r = await sql<ActivityFailuresRow>`${cte}
    SELECT to_char(day, 'YYYY-MM-DD') AS date, coalesce(model_group, '') AS model_group,
      coalesce(model, '') AS model, sum(requests)::float8 AS api_requests,
      sum(successful_requests)::float8 AS successful_requests, sum(failed_requests)::float8 AS failed_requests
    FROM src GROUP BY 1, 2, 3 ORDER BY 1, coalesce(model_group, '') COLLATE "C", coalesce(model, '') COLLATE "C"`.execute(
    db,
  );
  return { rows: r.rows };
}
