import { type RawBuilder, sql } from "kysely";
import { now } from "../clock.ts";
import { DAY_MS, dayOfInstant } from "../days.ts";
import type { Db } from "../db/connect.ts";
import { executeFolded } from "../rollups/fold.ts";

/**
 * The top end users by spend in [from, to) for an admin with no key filter (POST /global/spend/end_users).
 * Nothing read grows with the number of logs, only with the end users active in the window and the
 * width of the sub-hour slivers at its two cuts:
 *   - whole ISO weeks from spendlens.end_user_weekly (migration 0014), unless one of their days is dirty
 *     (one value for the statement: then their days are read as the other whole days are);
 *   - the other whole days from end_user_daily, the dirty ones (spendlens.rollup_days) from the raw logs
 *     (as the planner reads them, rollups/plan.ts, with one dirty-days probe for the statement);
 *   - each partial day at an end (`planEdgeDay`): whole hours from spendlens.end_user_hourly (migration
 *     0016), or the day's end_user_daily rows minus the hours outside the window, whichever side holds
 *     fewer hours up to now; the sub-hour sliver at a cut from the raw logs, or the hour's row minus the
 *     other side of the sliver, whichever holds less time up to now (≤ 30 minutes of logs per cut).
 *     An edge day flagged dirty or raw_deleted is read raw instead (decided in the statement), as the
 *     planner reads it.
 * Same numbers as one planner read of the window (and as the raw logs), up to the order in which floats
 * are added. Fresh as every rollup reader (`executeFolded`): on a Postgres primary the statement checks
 * itself that no log waits for a fold (one round trip); elsewhere the handle folds first.
 */
export async function topEndUsersByWeeks(
  db: Db,
  from: string,
  to: string,
  limit: number,
  nowMs: number = now().getTime(),
): Promise<{ end_user: string | null; requests: number; spend: number }[]> {
  const a = Date.parse(from);
  const b = Date.parse(to);
  const parts: RawBuilder<unknown>[] = [];
  const ctes: RawBuilder<unknown>[] = [];
  const { dF, dT, edges } = splitDays(a, b, nowMs);
  if (dF < dT) {
    // The whole days [dF, dT): their dirty days (one row) are read raw; the whole weeks from the weekly
    // table unless one of their days is dirty; every other clean day from end_user_daily.
    const weeks = wholeWeeks(dF, dT);
    const [w1, w2] = weeks ? [dayOfInstant(weeks.from), dayOfInstant(weeks.to)] : [null, null];
    ctes.push(sql`dirty AS MATERIALIZED (SELECT min(rd.day) AS lo, max(rd.day) AS hi,
        coalesce(array_agg(rd.day), '{}') AS days, coalesce(bool_or(rd.day >= ${w1}::date AND rd.day < ${w2}::date), false) AS weeks
      FROM spendlens.rollup_days rd WHERE rd.dirty_at IS NOT NULL AND rd.day >= ${dayOfInstant(dF)}::date AND rd.day < ${dayOfInstant(dT)}::date)`);
    const dirtyWeeks = sql`(SELECT dirty.weeks FROM dirty)`;
    if (weeks)
      parts.push(sql`SELECT w.end_user, w.requests, w.spend FROM spendlens.end_user_weekly w
        WHERE w.week >= ${w1}::date AND w.week < ${w2}::date AND NOT ${dirtyWeeks}`);
    const outsideWeeks = weeks
      ? sql` AND (${dirtyWeeks} OR d.day < ${w1}::date OR d.day >= ${w2}::date)`
      : sql``;
    parts.push(sql`SELECT d.end_user, d.requests, d.spend FROM spendlens.end_user_daily d
      WHERE d.day >= ${dayOfInstant(dF)}::date AND d.day < ${dayOfInstant(dT)}::date
        AND d.day <> ALL((SELECT dirty.days FROM dirty)::date[])${outsideWeeks}`);
    // `dirty.lo IS NOT NULL` filters the one CTE row: with no dirty day the log table is not read.
    parts.push(sql`SELECT l.end_user::text, 1::int8, coalesce(l.spend, 0)::float8
      FROM dirty JOIN "LiteLLM_SpendLogs" l ON dirty.lo IS NOT NULL AND l."startTime" >= dirty.lo::timestamp
        AND l."startTime" < (dirty.hi + 1)::timestamp AND spendlens.utc_day(l."startTime") = ANY(dirty.days)`);
  }
  if (edges.length) {
    ctes.push(sql`unclean AS MATERIALIZED (SELECT coalesce(array_agg(rd.day), '{}') AS days
      FROM spendlens.rollup_days rd WHERE rd.day = ANY(${edges.map((e) => e.day)}::date[])
        AND (rd.dirty_at IS NOT NULL OR rd.raw_deleted))`);
    for (const e of edges) parts.push(...edgeParts(e));
  }
  if (!parts.length) return [];
  // The fold check (`guard`) has no column: a condition evaluated once, before any row.
  const r = await executeFolded(
    db,
    (guard) => sql<{ end_user: string | null; requests: number; spend: number }>`
    ${ctes.length ? sql`WITH ${sql.join(ctes, sql`, `)} ` : sql``}
    SELECT u.end_user, sum(u.requests::float8)::int8 AS requests, sum(u.spend)::float8 AS spend
    FROM (${sql.join(parts, sql` UNION ALL `)}) u${guard ? sql` WHERE spendlens.logs_folded()` : sql``}
    GROUP BY u.end_user HAVING sum(u.requests::float8) <> 0
    ORDER BY spend DESC NULLS LAST, u.end_user ASC NULLS FIRST LIMIT ${limit}`,
  );
  return r.rows;
}

const HOUR_MS = 3_600_000;
/** What reading one hour of raw logs costs, in rollup row sets (an hour's or a day's rows per end user). */
const RAW_HOUR_COST = 8;

/** One signed term of an edge day: end_user_hourly hours [from, to), its end_user_daily day, or raw logs. */
export type EdgeTerm =
  | { kind: "hours"; from: number; to: number; sign: 1 | -1 }
  | { kind: "day"; sign: 1 | -1 }
  | { kind: "raw"; from: number; to: number; sign: 1 | -1 };

/** A partial day [from, to) inside the UTC day `day`, and the signed terms that sum to its logs. */
export interface EdgeDay {
  day: string;
  from: number;
  to: number;
  terms: EdgeTerm[];
}

const live = (a: number, b: number, nowMs: number) => Math.max(0, Math.min(b, nowMs) - a);
const neg = (t: EdgeTerm): EdgeTerm => ({ ...t, sign: t.sign === 1 ? -1 : 1 });

/** [a, b) inside one hour: its raw logs, or the hour's row minus the raw logs of the rest of the hour. */
function sliver(a: number, b: number, nowMs: number): EdgeTerm[] {
  const hs = Math.floor(a / HOUR_MS) * HOUR_MS;
  const he = hs + HOUR_MS;
  const outside = live(hs, a, nowMs) + live(b, he, nowMs);
  if (outside >= live(a, b, nowMs)) return [{ kind: "raw", from: a, to: b, sign: 1 }];
  const out: EdgeTerm[] = [{ kind: "hours", from: hs, to: he, sign: 1 }];
  if (hs < a) out.push({ kind: "raw", from: hs, to: a, sign: -1 });
  if (b < he) out.push({ kind: "raw", from: b, to: he, sign: -1 });
  return out;
}

/** [a, b) inside one UTC day (a < b): its whole hours and the slivers at both ends. */
function within(a: number, b: number, nowMs: number): EdgeTerm[] {
  const hA = Math.ceil(a / HOUR_MS) * HOUR_MS;
  const hB = Math.floor(b / HOUR_MS) * HOUR_MS;
  if (hA > hB) return sliver(a, b, nowMs); // both ends inside one hour
  const out: EdgeTerm[] = [];
  if (a < hA) out.push(...sliver(a, hA, nowMs));
  if (hA < hB) out.push({ kind: "hours", from: hA, to: hB, sign: 1 });
  if (hB < b) out.push(...sliver(hB, b, nowMs));
  return out;
}

/** The estimated cost of terms: row sets of hours and days up to now, raw logs by their time up to now. */
function cost(terms: EdgeTerm[], nowMs: number): number {
  let c = 0;
  for (const t of terms) {
    if (t.kind === "day") c += 1;
    else if (t.kind === "hours") c += Math.ceil(live(t.from, t.to, nowMs) / HOUR_MS);
    else c += (RAW_HOUR_COST * live(t.from, t.to, nowMs)) / HOUR_MS;
  }
  return c;
}

/**
 * The terms of a partial UTC day [from, to) (both inside one day): its own hours and slivers, or the
 * whole day minus the hours and slivers outside it, whichever costs less (time after `nowMs` holds next
 * to no logs: a window ending now subtracts the empty rest of today).
 */
export function planEdgeDay(from: number, to: number, nowMs: number): EdgeDay {
  const ds = Math.floor(from / DAY_MS) * DAY_MS;
  const de = ds + DAY_MS;
  const part = within(from, to, nowMs);
  const comp: EdgeTerm[] = [{ kind: "day", sign: 1 }];
  if (ds < from) comp.push(...within(ds, from, nowMs).map(neg));
  if (to < de) comp.push(...within(to, de, nowMs).map(neg));
  const day = new Date(ds).toISOString().slice(0, 10);
  return { day, from, to, terms: cost(comp, nowMs) < cost(part, nowMs) ? comp : part };
}

/**
 * [a, b) (UTC ms) as its whole UTC days [dF, dT) (none when dF >= dT) and its partial days at either
 * end, each planned by `planEdgeDay` (one partial day, or two around a midnight, when no day is whole).
 */
export function splitDays(a: number, b: number, nowMs: number): { dF: number; dT: number; edges: EdgeDay[] } {
  const dF = Math.ceil(a / DAY_MS) * DAY_MS;
  const dT = Math.floor(b / DAY_MS) * DAY_MS;
  const edges: EdgeDay[] = [];
  if (dF >= dT) {
    if (a < b) {
      const mid = Math.floor(a / DAY_MS) * DAY_MS + DAY_MS;
      if (mid < b) edges.push(planEdgeDay(a, mid, nowMs), planEdgeDay(mid, b, nowMs));
      else edges.push(planEdgeDay(a, b, nowMs));
    }
  } else {
    if (a < dF) edges.push(planEdgeDay(a, dF, nowMs));
    if (dT < b) edges.push(planEdgeDay(dT, b, nowMs));
  }
  return { dF, dT, edges };
}

/** An edge day's parts: its terms when the day is clean, its raw logs when it is dirty or raw_deleted. */
function edgeParts(e: EdgeDay): RawBuilder<unknown>[] {
  const iso = (ms: number) => new Date(ms).toISOString();
  // One value for the statement (an InitPlan): only one side runs.
  const unclean = sql`(SELECT ${e.day}::date = ANY(u.days) FROM unclean u)`;
  const m = (sign: 1 | -1) => (sign === 1 ? sql`` : sql`-`);
  const raw = (from: number, to: number, sign: 1 | -1, gate: RawBuilder<unknown>) =>
    sql`SELECT l.end_user::text AS end_user, ${m(sign)}1::int8 AS requests, ${m(sign)}coalesce(l.spend, 0)::float8 AS spend
      FROM "LiteLLM_SpendLogs" l WHERE l."startTime" >= ${iso(from)} AND l."startTime" < ${iso(to)} AND ${gate}`;
  const clean = sql`NOT ${unclean}`;
  const out = e.terms.map((t) => {
    if (t.kind === "raw") return raw(t.from, t.to, t.sign, clean);
    if (t.kind === "day")
      return sql`SELECT d.end_user, ${m(t.sign)}d.requests, ${m(t.sign)}d.spend FROM spendlens.end_user_daily d
        WHERE d.day = ${e.day}::date AND ${clean}`;
    return sql`SELECT h.end_user, ${m(t.sign)}h.requests, ${m(t.sign)}h.spend FROM spendlens.end_user_hourly h
      WHERE h.hour >= ${iso(t.from)}::timestamp AND h.hour < ${iso(t.to)}::timestamp AND ${clean}`;
  });
  out.push(raw(e.from, e.to, 1, unclean));
  return out;
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
