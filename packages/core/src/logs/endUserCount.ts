import { type RawBuilder, sql } from "kysely";
import { now } from "../clock.ts";
import { dayOfInstant } from "../days.ts";
import type { Db } from "../db/connect.ts";
import { executeNamed } from "../db/named.ts";
import { foldBeforeRead } from "../rollups/fold.ts";
import { type EdgeDay, splitDays } from "../spend/endUserWeeks.ts";

/**
 * How many logs of one end user have "startTime" in [from, to) (ISO instants), every user's logs (an
 * admin's count): /spend/logs/ui's exact total for `end_user=X`, read from the end-user rollups instead
 * of counting the end user's logs (a busy end user has hundreds of thousands in a month):
 *   - the whole UTC days from spendlens.end_user_daily (one row per day, its (end_user, day) index);
 *   - each partial day at an end as POST /global/spend/end_users reads it (`planEdgeDay`): whole hours
 *     from spendlens.end_user_hourly (one index probe per hour, by the end user's key_hash), or the
 *     day's end_user_daily row minus the hours outside the window, and the sub-hour slivers at each cut
 *     from the raw logs (≤ 30 minutes of the end user's logs per cut);
 *   - days flagged dirty (a failed or paused trigger) or raw_deleted (logs deleted while their totals
 *     were kept, or a dropped partition) from the raw logs, whole days and edge days alike, decided
 *     inside the statement: the number is what a COUNT(*) over the raw logs gives, in the same snapshot.
 * Pending inserts are folded first (`foldBeforeRead`), as every rollup reader does. Not a named
 * statement checking the fold itself (`executeFolded`): its raw edge parts' best plan depends on how
 * common the end user is, and a named statement may settle on one generic plan for every end user. Named
 * on PGlite alone (`executeNamed(…, "pglite")`), where planning it costs several times running it.
 */
export async function countEndUserLogs(
  db: Db,
  endUser: string,
  from: string,
  to: string,
  nowMs: number = now().getTime(),
): Promise<number> {
  if (!(Date.parse(from) < Date.parse(to))) return 0;
  await foldBeforeRead(db);
  const r = await executeNamed(db, endUserCountSql(endUser, from, to, nowMs), "pglite");
  return Number(r.rows[0]?.n ?? 0);
}

/** The statement of `countEndUserLogs` (one row, `n`), for a non-empty window; it does not fold. */
export function endUserCountSql(
  endUser: string,
  from: string,
  to: string,
  nowMs: number = now().getTime(),
): RawBuilder<{ n: string | number | null }> {
  const a = Date.parse(from);
  const b = Date.parse(to);
  const parts: RawBuilder<unknown>[] = [];
  const ctes: RawBuilder<unknown>[] = [];
  const { dF, dT, edges } = splitDays(a, b, nowMs);
  if (dF < dT) {
    // The whole days: the clean ones from end_user_daily, the dirty or raw-deleted ones (one row) raw.
    ctes.push(sql`dirty AS MATERIALIZED (SELECT min(rd.day) AS lo, max(rd.day) AS hi,
        coalesce(array_agg(rd.day), '{}') AS days
      FROM spendlens.rollup_days rd WHERE (rd.dirty_at IS NOT NULL OR rd.raw_deleted)
        AND rd.day >= ${dayOfInstant(dF)}::date AND rd.day < ${dayOfInstant(dT)}::date)`);
    parts.push(sql`SELECT d.requests::int8 AS n FROM spendlens.end_user_daily d
      WHERE d.end_user = ${endUser} AND d.day >= ${dayOfInstant(dF)}::date AND d.day < ${dayOfInstant(dT)}::date
        AND d.day <> ALL((SELECT dirty.days FROM dirty)::date[])`);
    // `dirty.lo IS NOT NULL` filters the one CTE row: with no such day the log table is not read.
    parts.push(sql`SELECT count(*)::int8 AS n
      FROM dirty JOIN "LiteLLM_SpendLogs" l ON dirty.lo IS NOT NULL AND l."startTime" >= dirty.lo::timestamp
        AND l."startTime" < (dirty.hi + 1)::timestamp AND spendlens.utc_day(l."startTime") = ANY(dirty.days)
      WHERE l.end_user = ${endUser}`);
  }
  if (edges.length) {
    ctes.push(sql`unclean AS MATERIALIZED (SELECT coalesce(array_agg(rd.day), '{}') AS days
      FROM spendlens.rollup_days rd WHERE rd.day = ANY(${edges.map((e) => e.day)}::date[])
        AND (rd.dirty_at IS NOT NULL OR rd.raw_deleted))`);
    for (const e of edges) parts.push(...edgeParts(e, endUser));
  }
  return sql<{ n: string | number | null }>`
    ${ctes.length ? sql`WITH ${sql.join(ctes, sql`, `)} ` : sql``}
    SELECT coalesce(sum(u.n), 0)::int8 AS n FROM (${sql.join(parts, sql` UNION ALL `)}) u`;
}

const HOUR_MS = 3_600_000;

/** The hours [from, to) (UTC ms) as timestamps without zone, for an `= ANY` probe of end_user_hourly. */
function hoursOf(from: number, to: number): string[] {
  const out: string[] = [];
  for (let h = from; h < to; h += HOUR_MS) out.push(new Date(h).toISOString().slice(0, 19).replace("T", " "));
  return out;
}

/** One edge day's parts for one end user: its signed terms when clean, its raw logs when not. */
function edgeParts(e: EdgeDay, endUser: string): RawBuilder<unknown>[] {
  const iso = (ms: number) => new Date(ms).toISOString();
  // One value for the statement (an InitPlan): only one side runs.
  const unclean = sql`(SELECT ${e.day}::date = ANY(u.days) FROM unclean u)`;
  const clean = sql`NOT ${unclean}`;
  const m = (sign: 1 | -1) => (sign === 1 ? sql`` : sql`-`);
  const raw = (from: number, to: number, sign: 1 | -1, gate: RawBuilder<unknown>) =>
    sql`SELECT ${m(sign)}count(*)::int8 AS n FROM "LiteLLM_SpendLogs" l
      WHERE l.end_user = ${endUser} AND l."startTime" >= ${iso(from)} AND l."startTime" < ${iso(to)} AND ${gate}`;
  const out = e.terms.map((t) => {
    if (t.kind === "raw") return raw(t.from, t.to, t.sign, clean);
    if (t.kind === "day")
      return sql`SELECT ${m(t.sign)}d.requests::int8 AS n FROM spendlens.end_user_daily d
        WHERE d.end_user = ${endUser} AND d.day = ${e.day}::date AND ${clean}`;
    // end_user_hourly's key is (hour, key_hash), key_hash = sha256 of the end user as a row (0016).
    return sql`SELECT ${m(t.sign)}h.requests::int8 AS n FROM spendlens.end_user_hourly h
      WHERE h.hour = ANY(${hoursOf(t.from, t.to)}::timestamp[])
        AND h.key_hash = sha256(convert_to(ROW(${endUser}::text)::text, 'UTF8')) AND h.end_user = ${endUser}
        AND ${clean}`;
  });
  out.push(raw(e.from, e.to, 1, unclean));
  return out;
}
