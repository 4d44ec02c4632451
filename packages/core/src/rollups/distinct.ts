import { sql } from "kysely";
import type { Db } from "../db/connect.ts";
import { schemaFacts } from "../db/schemaFacts.ts";
import { type Scope, scopeUserId } from "../scope.ts";
import { executeFolded } from "./fold.ts";
import { END_USER_GRAIN, ident } from "./grains.ts";
import { spendTotals } from "./query.ts";

/** Whether migration 0005's table exists (schema facts: an absent one is probed again next time). */
async function haveGrain(db: Db): Promise<boolean> {
  return (await schemaFacts(db)).derivedGrains;
}

/**
 * Every distinct end user of the spend logs, all time (NULL and '' are not end users), sorted by the
 * database's collation: the same list as `SELECT DISTINCT end_user … ORDER BY end_user` over the logs,
 * with the rollups' rules (dirty days from the raw logs; in delete mode `keep` a deleted log's end user
 * stays, as its totals do).
 *
 * Admins: a skip scan of end_user_daily's (end_user, day) index, one probe per end user (each probe
 * takes the next end user above the last one that has a row on a day that is not dirty), so the cost
 * follows the number of end users, not of days or logs; plus the raw logs of dirty days, in the same
 * statement. An internal user (or a database without migration 0005): grouped from the rollups.
 *
 * Fresh as every rollup reader (`executeFolded`): on a Postgres primary the statement checks itself that
 * no log waits for a fold (`spendlens.logs_folded()` on the `dirty` CTE, evaluated once, before any row:
 * every branch reads that CTE), so a call is one round trip; elsewhere the handle folds first.
 */
export async function distinctEndUsers(db: Db, scope: Scope): Promise<string[]> {
  if (scopeUserId(scope) !== null || !(await haveGrain(db))) {
    const rows = await spendTotals(db, scope, {
      window: { from: null, to: null },
      dims: ["end_user"],
      orderBy: [{ by: "end_user" }],
    });
    return rows.map((r) => r.end_user).filter((u): u is string => u != null && u !== "");
  }
  const table = sql.raw(`spendlens.${ident(END_USER_GRAIN.table)}`);
  const clean = sql`r.day <> ALL((SELECT dirty.days FROM dirty)::date[])`;
  const r = await executeFolded(
    db,
    (guard) => sql<{ end_user: string }>`WITH RECURSIVE dirty AS MATERIALIZED (
      SELECT min(d.day) AS lo, max(d.day) AS hi, coalesce(array_agg(d.day), '{}') AS days
      FROM spendlens.rollup_days d WHERE d.dirty_at IS NOT NULL${guard ? sql` AND spendlens.logs_folded()` : sql``}),
    eu AS (
      SELECT (SELECT r.end_user FROM ${table} r WHERE r.end_user <> '' AND ${clean}
        ORDER BY r.end_user LIMIT 1) AS end_user
      UNION ALL
      SELECT (SELECT r.end_user FROM ${table} r WHERE r.end_user > eu.end_user AND ${clean}
        ORDER BY r.end_user LIMIT 1)
      FROM eu WHERE eu.end_user IS NOT NULL)
    SELECT eu.end_user FROM eu WHERE eu.end_user IS NOT NULL
    UNION
    SELECT l.end_user FROM dirty JOIN "LiteLLM_SpendLogs" l ON l."startTime" >= dirty.lo::timestamp
        AND l."startTime" < (dirty.hi + 1)::timestamp AND spendlens.utc_day(l."startTime") = ANY(dirty.days)
      WHERE l.end_user <> ''
    ORDER BY 1`,
  );
  return r.rows.map((x) => x.end_user);
}
