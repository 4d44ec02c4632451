import { type RawBuilder, sql } from "kysely";
import { ident } from "./grains.ts";
import { MEASURE_SETS, type Measure } from "./measures.ts";
import type { Plan, PlanFilter, TimeWindow } from "./plan.ts";

/**
 * The one renderer: a Plan (rollups/plan.ts) as its statement, for every measure set. Values are bound
 * parameters; identifiers come from the plan, whose dims, filters and tables the planner took from the
 * allowlists (grains.ts, measures.ts), and are quoted by `ident`, which refuses anything else.
 *
 * Shape: `[WITH dirty …] SELECT dims, totals FROM (part UNION ALL part …) u GROUP BY dims [ORDER] [LIMIT]`,
 * each part a rollup read or a raw-log read with the same columns (the dims, then the measures).
 */

type Cond = RawBuilder<unknown>;
const AND = sql` AND `;
const COMMA = sql`, `;

/** `col = v`, `col IS NULL`, or `(col = ANY(...) OR col IS NULL)`; values are bound parameters. */
export function filterSql(col: Cond, f: Pick<PlanFilter, "values" | "withNull">): Cond {
  const parts: Cond[] = [];
  if (f.values.length === 1) parts.push(sql`${col} = ${f.values[0]!}`);
  else if (f.values.length > 1) parts.push(sql`${col} = ANY(${f.values}::text[])`);
  if (f.withNull) parts.push(sql`${col} IS NULL`);
  if (!parts.length) return sql`false`;
  return parts.length === 1 ? parts[0]! : sql`(${sql.join(parts, sql` OR `)})`;
}

const measuresOf = (p: Plan): readonly Measure[] => MEASURE_SETS[p.measures].measures;

/** A rollup row's column of a dimension or filter (`r`). */
const rollupCol = (d: string) => sql.raw(`r.${ident(d)}`);

/** A raw log's column of a dimension or filter (`l`; `e` for the tag; NULL where the table lacks it). */
function rawCol(p: Plan, d: string): Cond {
  if (d === "tag") return sql`e.tag`;
  if (d === "day") return sql`spendlens.utc_day(l."startTime")`;
  if (p.nullColumns.includes(d)) return sql.raw("NULL::text");
  return sql.raw(`l.${ident(d)}`);
}

/** The conditions of the plan's filters and user on one side (`r` or `l`). */
function scopeConds(p: Plan, col: (d: string) => Cond, userCol: Cond): Cond[] {
  const out = p.filters.map((f) => filterSql(col(f.dim), f));
  if (p.user !== null) out.push(sql`${userCol} = ${p.user}`);
  return out;
}

/** The select list of a rollup read: the dims, then the measures (from `table`'s columns). */
function rollupCols(p: Plan): Cond[] {
  return [
    ...p.dims.map(rollupCol),
    ...measuresOf(p).map((m) => sql.raw(m.column === m.name ? `r.${m.name}` : `r.${m.column} AS ${m.name}`)),
  ];
}

/** One part reading `table` (schema spendlens) under these conditions. */
function rollupPart(p: Plan, table: string, where: Cond[]): Cond {
  const conds = [...where, ...scopeConds(p, rollupCol, sql`r."user"`)];
  return sql`SELECT ${sql.join(rollupCols(p), COMMA)}
      FROM spendlens.${sql.raw(ident(table))} r${conds.length ? sql` WHERE ${sql.join(conds, AND)}` : sql``}`;
}

/** The select list of a raw read: one row per log (per tag element with tags); `negate` subtracts. */
function rawCols(p: Plan, negate = false): Cond[] {
  const m = negate ? "-" : "";
  return [
    ...p.dims.map((d) => sql`${rawCol(p, d)} AS ${sql.raw(ident(d))}`),
    ...measuresOf(p).map((x) => sql.raw(`${m}${x.raw}::${x.type} AS ${x.name}`)),
  ];
}

/** The logs' FROM: the log table (or, `dirtyDays`, its rows on the dirty days), tag elements joined. */
function rawFrom(p: Plan, dirtyDays: boolean): Cond {
  const from = dirtyDays ? dirtyRawFrom(p.logTable) : sql.raw(`"${p.logTable}" l`);
  if (p.tags === null) return from;
  const fn = p.tags === "elements" ? "request_tags" : "request_tag_set";
  return sql`${from} CROSS JOIN LATERAL spendlens.${sql.raw(fn)}(l.request_tags) e`;
}

function rawPart(p: Plan, where: Cond, opts: { dirtyDays?: boolean; negate?: boolean } = {}): Cond {
  const conds = [where, ...scopeConds(p, (d) => rawCol(p, d), sql`l."user"`)];
  return sql`SELECT ${sql.join(rawCols(p, opts.negate), COMMA)}
      FROM ${rawFrom(p, opts.dirtyDays ?? false)}
      WHERE ${sql.join(conds, AND)}`;
}

function rangeSql(r: TimeWindow): Cond {
  const c: Cond[] = [];
  if (r.from !== null) c.push(sql`l."startTime" >= ${r.from}`);
  if (r.to !== null) c.push(sql`l."startTime" < ${r.to}`);
  return c.length ? sql.join(c, AND) : sql`true`;
}

/** `alias.day >= from AND alias.day < to` for a day range (bounds bound as parameters). */
function dayRange(alias: "r" | "rollup_days", days: { from: string | null; to: string | null }): Cond[] {
  const a = sql.raw(alias);
  const c: Cond[] = [];
  if (days.from !== null) c.push(sql`${a}.day >= ${days.from}::date`);
  if (days.to !== null) c.push(sql`${a}.day < ${days.to}::date`);
  return c;
}

/** `l."startTime"` within a range of whole UTC days (bounds bound as parameters). */
function dayBounds(days: { from: string | null; to: string | null }): Cond {
  const c: Cond[] = [];
  if (days.from !== null) c.push(sql`l."startTime" >= ${days.from}::date::timestamp`);
  if (days.to !== null) c.push(sql`l."startTime" < ${days.to}::date::timestamp`);
  return c.length ? sql.join(c, AND) : sql`true`;
}

/**
 * The window's dirty days (a failed or paused trigger) as ONE row (lo, hi, days): an aggregate always
 * plans as a single row, so the raw part for dirty days plans as one bounded "startTime" index probe,
 * never as a scan of the table (nor a JIT compile). With no dirty day, lo and hi are NULL and the
 * probe returns nothing at once.
 */
function dirtyDaysCte(
  days: { from: string | null; to: string | null },
  matchRaw: boolean,
  edgeDays: readonly string[],
): Cond {
  const flag = matchRaw
    ? sql`(rollup_days.dirty_at IS NOT NULL OR rollup_days.raw_deleted)`
    : sql`rollup_days.dirty_at IS NOT NULL`;
  const conds = [flag, ...dayRange("rollup_days", days)];
  // Edge days read as rollup minus complement need a clean day: neither dirty nor raw-deleted (keep
  // mode: its rollup still counts deleted logs that the complement, read raw, no longer holds).
  const edges = edgeDays.length
    ? sql`, edges AS MATERIALIZED (SELECT coalesce(array_agg(rollup_days.day), '{}') AS unclean
      FROM spendlens.rollup_days WHERE rollup_days.day = ANY(${[...edgeDays]}::date[])
        AND (rollup_days.dirty_at IS NOT NULL OR rollup_days.raw_deleted))`
    : sql``;
  return sql`WITH dirty AS MATERIALIZED (SELECT min(rollup_days.day) AS lo, max(rollup_days.day) AS hi,
      coalesce(array_agg(rollup_days.day), '{}') AS days
    FROM spendlens.rollup_days WHERE ${sql.join(conds, AND)})${edges} `;
}

/**
 * The raw rows of the dirty days: from the first to the last dirty day, on a dirty day. `dirty.lo IS
 * NOT NULL` filters the one CTE row itself, so with no dirty day the log table is not read at all: the
 * error logs have no "startTime" index (LiteLLM creates none), and the join alone scanned all of them on
 * every exception report.
 */
const dirtyRawFrom = (table: Plan["logTable"]) =>
  sql.raw(`dirty JOIN "${table}" l ON dirty.lo IS NOT NULL AND l."startTime" >= dirty.lo::timestamp
      AND l."startTime" < (dirty.hi + 1)::timestamp AND spendlens.utc_day(l."startTime") = ANY(dirty.days)`);

/** Rollup rows outside the dirty days. */
const notDirty = sql`r.day <> ALL((SELECT dirty.days FROM dirty)::date[])`;

/** The same Monday-of-the-week in SQL, for a date expression (2001-01-01 was a Monday; no time zone). */
const weekSql = (d: string) => `(${d} - (((${d} - DATE '2001-01-01') % 7 + 7) % 7))`;

/** The rollup parts of the whole days: the grain's days, or its weeks from the weekly table. */
function wholeDayParts(p: Plan, table: string, days: NonNullable<Plan["rollupDays"]>): Cond[] {
  const weeks = p.weekly;
  if (!weeks) return [rollupPart(p, table, [...dayRange("r", days), notDirty])];
  // Whole weeks from the weekly table, except weeks with a dirty day; the days before and after them,
  // and the clean days of those weeks, from the daily table.
  const parts: Cond[] = [];
  if (weeks.from !== null && days.from! < weeks.from)
    parts.push(rollupPart(p, table, [...dayRange("r", { from: days.from, to: weeks.from }), notDirty]));
  if (weeks.to !== null && (days.to === null || weeks.to < days.to))
    parts.push(rollupPart(p, table, [...dayRange("r", { from: weeks.to, to: days.to }), notDirty]));
  const dirtyWeeks = sql.raw(
    `(SELECT ARRAY(SELECT DISTINCT ${weekSql("x")} FROM unnest(dirty.days) AS x) FROM dirty)::date[]`,
  );
  const wconds: Cond[] = [];
  if (weeks.from !== null) wconds.push(sql`r.week >= ${weeks.from}::date`);
  if (weeks.to !== null) wconds.push(sql`r.week < ${weeks.to}::date`);
  parts.push(rollupPart(p, weeks.table, [...wconds, sql`r.week <> ALL(${dirtyWeeks})`]));
  parts.push(
    rollupPart(p, table, [
      ...dayRange("r", weeks),
      sql.raw(`r.day >= (SELECT ${weekSql("dirty.lo")} FROM dirty)`),
      sql.raw(`r.day < (SELECT ${weekSql("dirty.hi")} + 7 FROM dirty)`),
      sql`${sql.raw(weekSql("r.day"))} = ANY(${dirtyWeeks})`,
      notDirty,
    ]),
  );
  return parts;
}

/** No part at all (an empty window): the columns with no row. */
function emptyPart(p: Plan): Cond {
  const cols = p.dims.map((d) => (d === "day" ? `NULL::date AS "day"` : `NULL::text AS ${ident(d)}`));
  const ms = measuresOf(p).map((m) => `0::${m.type} AS ${m.name}`);
  return sql.raw(`SELECT ${[...cols, ...ms].join(", ")} WHERE false`);
}

/**
 * The statement of a plan. Columns: the dims in order, then the plan's measures. With `guard`, the
 * statement also checks that no inserted log waits for a fold (migration 0022's
 * `spendlens.logs_folded()`, evaluated once, in the statement's snapshot, before any row) and fails with
 * SQLSTATE 'SLF01' otherwise: the caller's fold before the read becomes part of the read
 * (rollups/fold.ts `executeFolded`).
 */
export function render<R = unknown>(p: Plan, opts: { guard?: boolean } = {}): RawBuilder<R> {
  const parts: Cond[] = [];
  let cte = sql``;
  if (p.table && p.rollupDays) {
    cte = dirtyDaysCte(
      p.rollupDays,
      p.dirtyDays?.matchRaw ?? false,
      p.complements.map((c) => c.day),
    );
    parts.push(...wholeDayParts(p, p.table, p.rollupDays));
    // Dirty days inside the window: from the raw logs (UTC midnight bounds; sessions run in UTC). The
    // window's own bounds on "startTime" add nothing (every dirty day is inside it) but let Postgres
    // leave the partitions outside the window out of the plan when it plans with the values: planning
    // this join over every partition of the log table cost ~1 ms per call with eight of them.
    parts.push(rawPart(p, dayBounds(p.rollupDays), { dirtyDays: true }));
  }
  for (const r of p.rawRanges) parts.push(rawPart(p, rangeSql(r)));
  for (const c of p.complements) {
    // The whole day from the rollup minus its logs outside the window, when the day is clean; its
    // logs inside the window when it is not. The test is one value for the statement (an InitPlan),
    // so only one side runs.
    const clean = sql`NOT (${c.day}::date = ANY((SELECT edges.unclean FROM edges)::date[]))`;
    parts.push(rollupPart(p, p.table!, [sql`r.day = ${c.day}::date`, clean]));
    parts.push(rawPart(p, sql`${rangeSql(c.complement)} AND ${clean}`, { negate: true }));
    parts.push(rawPart(p, sql`${rangeSql(c.part)} AND NOT ${clean}`));
  }
  const dims = p.dims.map((d) => sql.raw(ident(d)));
  const totals = sql.raw(
    measuresOf(p)
      .map((m) => `${m.total} AS ${m.name}`)
      .join(",\n    "),
  );
  const union = parts.length ? sql.join(parts, sql` UNION ALL `) : emptyPart(p);
  // A group seen only in a subtracted part nets to zero requests: it has no log in the window.
  const having = p.complements.length ? sql` HAVING sum(u.requests::float8) <> 0` : sql``;
  const groupBy = dims.length ? sql` GROUP BY ${sql.join(dims, COMMA)}${having}` : sql``;
  const select = dims.length ? sql`${sql.join(dims, COMMA)}, ${totals}` : totals;
  const order = p.orderBy.length
    ? sql` ORDER BY ${sql.join(
        p.orderBy.map((t) => sql.raw(`${ident(t.by)} ${t.desc ? "DESC NULLS LAST" : "ASC NULLS FIRST"}`)),
        COMMA,
      )}`
    : sql``;
  const limit = p.limit === null ? sql`` : sql` LIMIT ${p.limit}`;
  const where = opts.guard ? sql` WHERE spendlens.logs_folded()` : sql``;
  return sql<R>`${cte}SELECT ${select} FROM (${union}) u${where}${groupBy}${order}${limit}`;
}

/**
 * One UTC day's rows of a plan, not aggregated (one rollup row or one log per row: the caller groups),
 * for a per-day read (`windowDaysSql` in query.ts): the rows of the plan's grain when the day is clean,
 * the day's raw logs when it is dirty. `day` (a date) and `dirty` (a boolean) are expressions of the
 * enclosing query. Columns: the dims, then the measures.
 */
export function renderDayRows(p: Plan, day: Cond, dirty: Cond): Cond {
  if (!p.table) throw new Error(`no rollup grain covers ${p.dims.join(", ")}`);
  return sql`${rollupPart(p, p.table, [sql`r.day = ${day}`, sql`NOT ${dirty}`])}
    UNION ALL
    ${rawPart(p, sql`${dirty} AND l."startTime" >= (${day})::timestamp AND l."startTime" < ((${day}) + 1)::timestamp`)}`;
}
