import { sql } from "kysely";
import type { Db } from "../db/connect.ts";
import { schemaFacts } from "../db/schemaFacts.ts";
import { foldBeforeRead } from "../rollups/fold.ts";
import { plan } from "../rollups/plan.ts";
import { render } from "../rollups/render.ts";
import { ALL } from "../scope.ts";
import { DAY_MS } from "../validation.ts";

/**
 * The top end users by spend in [from, to) for an admin with no key filter (POST /global/spend/end_users),
 * reading the window's whole ISO weeks from spendlens.end_user_weekly (migration 0014: end_user_daily per
 * week, requests and spend only) and the days before and after them through the query planner
 * (rollups/plan.ts: end_user_daily for whole days, the partial day at either end raw or complemented,
 * dirty days raw). A 30-day window reads ~4 × (end users a week) weekly rows and ≤ 13 days of daily rows
 * instead of 30 days of them. Weeks holding a dirty day are read through the planner too (one value for
 * the statement: only one side runs). Same numbers as one planner read of the window, up to the order
 * in which floats are added. Null when the window holds no whole week (the caller reads it as before).
 */
export async function topEndUsersByWeeks(
  db: Db,
  from: string,
  to: string,
  limit: number,
): Promise<{ end_user: string | null; requests: number; spend: number }[] | null> {
  const weeks = wholeWeeks(Date.parse(from), Date.parse(to));
  if (!weeks) return null;
  const iso = (ms: number) => new Date(ms).toISOString();
  await foldBeforeRead(db); // once for the three planner parts
  const facts = await schemaFacts(db);
  // A planner read (rollups/plan.ts) of [a, b) by end user, rendered without a fold of its own.
  const part = (a: string, b: string) =>
    sql`SELECT x.end_user, x.requests, x.spend FROM (${render(
      plan({ kind: "spend", scope: ALL, query: { window: { from: a, to: b }, dims: ["end_user"] } }, facts),
    )}) x`;
  const w1 = iso(weeks.from);
  const w2 = iso(weeks.to);
  const [before, mid, after] = [part(from, w1), part(w1, w2), part(w2, to)];
  const dirtyWeeks = sql`(SELECT wd.dirty FROM wd)`;
  const r = await sql<{ end_user: string | null; requests: number; spend: number }>`
    WITH wd AS MATERIALIZED (SELECT EXISTS (SELECT 1 FROM spendlens.rollup_days rd WHERE rd.dirty_at IS NOT NULL
      AND rd.day >= ${w1}::date AND rd.day < ${w2}::date) AS dirty)
    SELECT u.end_user, sum(u.requests)::int8 AS requests, sum(u.spend)::float8 AS spend FROM (
      ${before}
      UNION ALL SELECT w.end_user, w.requests, w.spend FROM spendlens.end_user_weekly w
        WHERE w.week >= ${w1}::date AND w.week < ${w2}::date AND NOT ${dirtyWeeks}
      UNION ALL SELECT m.end_user, m.requests, m.spend FROM (${mid}) m WHERE ${dirtyWeeks}
      UNION ALL ${after}) u
    GROUP BY u.end_user ORDER BY spend DESC NULLS LAST, u.end_user ASC NULLS FIRST LIMIT ${limit}`.execute(
    db,
  );
  return r.rows;
}

/** 2001-01-01 was a Monday: ISO weeks are counted from it (UTC, no time zone involved). */
const MONDAY = Date.UTC(2001, 0, 1);
const WEEK_MS = 7 * DAY_MS;

/** The whole ISO weeks [from, to) (Mondays, UTC ms) inside [a, b), or null when there is none. */
export function wholeWeeks(a: number, b: number): { from: number; to: number } | null {
  const from = MONDAY + Math.ceil((a - MONDAY) / WEEK_MS) * WEEK_MS;
  const to = MONDAY + Math.floor((b - MONDAY) / WEEK_MS) * WEEK_MS;
  return from < to ? { from, to } : null;
}
