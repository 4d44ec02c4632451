import { type RawBuilder, type Sql, sql } from "kysely";
import { now } from "../clock.ts";
import type { Db } from "../db/connect.ts";
import { badRequest, forbidden } from "../errors.ts";
import { type Scope, scopeUserId } from "../scope.ts";
import { addDays, DAY_MS } from "../validation.ts";
import { foldBeforeRead } from "./fold.ts";
import {
  END_USER_GRAIN,
  ERROR_DIMS,
  ERROR_GRAIN,
  type ErrorDim,
  ident,
  KEY_WEEKLY,
  SPEND_DIMS,
  SPEND_GRAINS,
  type SpendDim,
  type SpendGrain,
  TAG_GRAINS,
  TAG_REQUEST_TABLE,
  USER_TAG_REQUEST_TABLE,
} from "./grains.ts";

/**
 * Typed reads over the rollups. A query names what it groups by (`dims`), what it filters on, and a
 * half-open UTC window; it never names a table. The plan:
 *   - the smallest grain whose dimensions cover the dims, the filters and the caller's scope;
 *   - whole UTC days of the window from that grain, the partial days at either end from the raw logs;
 *   - days marked dirty in spendlens.rollup_days (a failed or paused trigger) from the raw logs too,
 *     decided inside the same statement, so the answer is one snapshot: always equal to a sum over the
 *     raw logs (up to float rounding order), including logs committed a moment ago.
 * Queries no grain covers (a tag with any other dimension, or a tag for an internal user) read the raw
 * logs only: slower, same numbers.
 */

export type RollupDim = SpendDim | "day" | "tag";
export type FilterValue = string | null | readonly (string | null)[];
export type RollupFilters = Partial<Record<SpendDim | "tag", FilterValue>>;
export const SPEND_MEASURE_NAMES = [
  "requests",
  "spend",
  "prompt_tokens",
  "completion_tokens",
  "total_tokens",
] as const;
export type SpendMeasure = (typeof SPEND_MEASURE_NAMES)[number];

/** A half-open UTC window [from, to) of ISO instants; null is unbounded. `dayWindow()` makes whole days. */
export interface TimeWindow {
  from: string | null;
  to: string | null;
}

export interface OrderTerm<K extends string> {
  by: K;
  desc?: boolean;
}

export interface SpendQuery {
  window: TimeWindow;
  /** What to group by. `day` is the UTC day ('YYYY-MM-DD'); `tag` one element of request_tags. */
  dims?: readonly RollupDim[];
  /** Equality filters; null means IS NULL, an array means any of. */
  filters?: RollupFilters;
  /**
   * With `tag`: `split` (default) gives each of a request's n tags spend/n, so tags add up to the total;
   * `full` gives every tag the whole spend (the seed's figures). Requests and tokens count per tag.
   */
  attribution?: "split" | "full";
  orderBy?: readonly OrderTerm<RollupDim | SpendMeasure>[];
  /** At most this many rows (1..100000). */
  limit?: number;
  /**
   * How a day the window covers only in part is read. `raw`: its logs inside the window. `complement`:
   * the day's rollup rows minus its logs outside the window (only for a day with no dirty or
   * raw-deleted flag; otherwise raw, decided in the statement). `auto` (default): whichever part
   * holds less time up to now, so a window ending now (POST /global/spend/end_users) or at 23:59:59
   * (/spend/logs/ui) subtracts the (empty) rest of the day instead of reading the day's logs so far.
   */
  edges?: "auto" | "raw" | "complement";
  /**
   * Count what the raw table holds now: days flagged raw_deleted (logs deleted while their totals were
   * kept, delete mode `keep`) are read from the raw logs like dirty days. For counts that must match a
   * listing of the logs (/spend/logs/ui's total); reports keep the totals (default false).
   */
  matchRaw?: boolean;
  /** The caller has just folded (`foldBeforeRead`) for a read made of several planner parts. */
  folded?: boolean;
}

export type SpendRow = Partial<Record<RollupDim, string | null>> & Record<SpendMeasure, number>;

export interface SpendPlan {
  /** The rollup table for whole days, or null when the raw logs answer everything. */
  table: string | null;
  /** Whole days read from the rollup: [fromDay, toDay) ('YYYY-MM-DD'; null = unbounded). */
  rollupDays: { from: string | null; to: string | null } | null;
  /** Instants read from the raw logs (besides dirty days). */
  rawRanges: TimeWindow[];
  /**
   * Edge days read as their rollup rows minus these instants' raw logs (`edges`; each range lies in one
   * UTC day, which is read whole from the rollup when it is clean, else the window's part of it raw).
   */
  complements?: TimeWindow[];
  /** Whole ISO weeks [from, to) (Mondays; null = unbounded) read from a weekly table instead of `table`. */
  weekly?: { table: string; from: string | null; to: string | null } | null;
}

const MAX_LIMIT = 100_000;

function isMidnight(iso: string): boolean {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) throw badRequest("window", `not an ISO instant: ${iso}`);
  return t % DAY_MS === 0;
}
const dayOf = (iso: string) => new Date(Date.parse(iso)).toISOString().slice(0, 10);
const isoOf = (iso: string) => new Date(Date.parse(iso)).toISOString();
const dayStartIso = (day: string) => `${day}T00:00:00.000Z`;

/** Splits a window into whole UTC days (for a rollup) and the partial days at its ends (raw). */
export function splitWindow(w: TimeWindow): {
  days: { from: string | null; to: string | null } | null;
  raw: TimeWindow[];
} {
  const from = w.from === null ? null : isoOf(w.from);
  const to = w.to === null ? null : isoOf(w.to);
  if (from !== null && to !== null && Date.parse(from) >= Date.parse(to)) return { days: null, raw: [] };
  const fromDay = from === null ? null : isMidnight(from) ? dayOf(from) : addDays(dayOf(from), 1);
  const toDay = to === null ? null : dayOf(to);
  if (fromDay !== null && toDay !== null && fromDay >= toDay) {
    return { days: null, raw: [{ from, to }] };
  }
  const raw: TimeWindow[] = [];
  if (from !== null && fromDay !== null && from !== dayStartIso(fromDay))
    raw.push({ from, to: dayStartIso(fromDay) });
  if (to !== null && toDay !== null && to !== dayStartIso(toDay)) raw.push({ from: dayStartIso(toDay), to });
  return { days: { from: fromDay, to: toDay }, raw };
}

function filterList(v: FilterValue): { values: string[]; withNull: boolean } {
  const arr = typeof v === "string" || v === null ? [v] : [...v];
  return { values: arr.filter((x): x is string => x !== null), withNull: arr.some((x) => x === null) };
}

/** `col = v`, `col IS NULL`, or `(col = ANY(...) OR col IS NULL)`; values are bound parameters. */
function filterSql(col: Sql | RawBuilder<unknown>, v: FilterValue): RawBuilder<unknown> {
  const { values, withNull } = filterList(v);
  const parts: RawBuilder<unknown>[] = [];
  if (values.length === 1) parts.push(sql`${col} = ${values[0]!}`);
  else if (values.length > 1) parts.push(sql`${col} = ANY(${values}::text[])`);
  if (withNull) parts.push(sql`${col} IS NULL`);
  if (!parts.length) return sql`false`;
  return parts.length === 1 ? parts[0]! : sql`(${sql.join(parts, sql` OR `)})`;
}

const SPEND_DIM_SET = new Set<string>(SPEND_DIMS);

function checkDims(dims: readonly string[], filters: Record<string, unknown>): void {
  for (const d of dims) {
    if (d !== "day" && d !== "tag" && !SPEND_DIM_SET.has(d))
      throw badRequest("dims", `unknown dimension ${d}`);
  }
  for (const f of Object.keys(filters)) {
    if (f !== "tag" && !SPEND_DIM_SET.has(f)) throw badRequest("filters", `unknown dimension ${f}`);
  }
}

/** Which grain answers the whole days, or null when none covers what the query needs. */
export function chooseSpendGrain(
  dims: readonly RollupDim[],
  filters: RollupFilters,
  scope: Scope,
  spendGrains: readonly SpendGrain[] = SPEND_GRAINS,
): { table: string; tag: boolean } | null {
  const need = new Set<string>(
    [...dims, ...Object.keys(filters)].filter((d) => d !== "day" && d !== "tag") as string[],
  );
  if (scopeUserId(scope) !== null) need.add("user");
  const tag = dims.includes("tag") || "tag" in filters;
  const grains = tag ? TAG_GRAINS : spendGrains;
  const g = grains.find((x) => [...need].every((d) => (x.dims as readonly string[]).includes(d)));
  return g ? { table: g.table, tag } : null;
}

const rawColumnCache = new WeakMap<Db, Promise<Set<string>>>();
/** Columns of "LiteLLM_SpendLogs" (an older LiteLLM lacks organization_id: it reads as NULL). */
export function rawSpendColumns(db: Db): Promise<Set<string>> {
  let p = rawColumnCache.get(db);
  if (!p) {
    p = sql<{ column_name: string }>`SELECT column_name FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name = 'LiteLLM_SpendLogs'`
      .execute(db)
      .then((r) => new Set(r.rows.map((x) => x.column_name)));
    rawColumnCache.set(db, p);
    p.catch(() => rawColumnCache.delete(db));
  }
  return p;
}

const derivedCache = new WeakMap<Db, Promise<boolean>>();
/**
 * Whether migration 0005's derived tables (end_user_daily, key_weekly) exist (a database migrated only
 * part of the way, as some tests make, lacks them). Only a positive answer is cached.
 */
function haveDerivedGrains(db: Db): Promise<boolean> {
  let p = derivedCache.get(db);
  if (!p) {
    p = sql<{ ok: boolean }>`SELECT to_regclass(${`spendlens.${END_USER_GRAIN.table}`}) IS NOT NULL AS ok`
      .execute(db)
      .then((r) => r.rows[0]?.ok === true);
    derivedCache.set(db, p);
    p.then(
      (ok) => ok || derivedCache.delete(db),
      () => derivedCache.delete(db),
    );
  }
  return p;
}

/** One partial day at an end of the window: its part inside the window, and the rest of that day. */
interface EdgePlan {
  part: TimeWindow;
  day: string;
  /** Set when the day is read as rollup minus raw: the instants of the day outside the window. */
  complement: TimeWindow | null;
}

/** The Monday of a day's ISO week ('YYYY-MM-DD'). */
function weekOf(day: string): string {
  const t = Date.parse(`${day}T00:00:00Z`);
  const dow = (new Date(t).getUTCDay() + 6) % 7; // Monday 0 … Sunday 6
  return new Date(t - dow * DAY_MS).toISOString().slice(0, 10);
}

/** The same in SQL, for a date expression (2001-01-01 was a Monday; no time zone involved). */
const weekSql = (d: string) => `(${d} - (((${d} - DATE '2001-01-01') % 7 + 7) % 7))`;

/**
 * The whole ISO weeks [from, to) (Mondays, null = unbounded) inside a range of whole days, when a
 * query may read them from a weekly table: an admin's per-key read with no filter and no per-day
 * grouping (top keys) whose window holds at least one whole week. Null otherwise.
 */
function weeklyRange(
  grainTable: string,
  dims: readonly RollupDim[],
  filters: RollupFilters,
  user: string | null,
  days: { from: string | null; to: string | null },
): { from: string | null; to: string | null } | null {
  if (grainTable !== KEY_WEEKLY.source || user !== null || dims.includes("day")) return null;
  if (Object.values(filters).some((v) => v !== undefined)) return null;
  const from =
    days.from === null ? null : days.from === weekOf(days.from) ? days.from : addDays(weekOf(days.from), 7);
  const to = days.to === null ? null : weekOf(days.to);
  if (from !== null && to !== null && from >= to) return null;
  return { from, to };
}

/** Chooses, for each partial edge day (from splitWindow), raw or rollup-minus-complement. */
function planEdges(raw: TimeWindow[], mode: "auto" | "raw" | "complement"): EdgePlan[] {
  const nowMs = mode === "auto" ? now().getTime() : 0;
  return raw.map((part) => {
    const f = Date.parse(part.from!);
    const t = Date.parse(part.to!);
    const dayStart = Math.floor(f / DAY_MS) * DAY_MS;
    const dayEnd = dayStart + DAY_MS;
    // splitWindow's edges touch a day boundary: the start edge ends at the next midnight, the end edge
    // starts at one.
    const comp = f === dayStart ? { from: t, to: dayEnd } : { from: dayStart, to: f };
    const day = new Date(dayStart).toISOString().slice(0, 10);
    // Logs are written at their start time: the part of a day after now holds (next to) nothing.
    const live = (a: number, b: number) => Math.max(0, Math.min(b, nowMs) - a);
    const use = mode === "complement" || (mode === "auto" && live(comp.from, comp.to) < live(f, t));
    const iso = (ms: number) => new Date(ms).toISOString();
    return { part, day, complement: use ? { from: iso(comp.from), to: iso(comp.to) } : null };
  });
}

function orderSql<K extends string>(
  terms: readonly OrderTerm<K>[] | undefined,
  allowed: ReadonlySet<string>,
): RawBuilder<unknown> {
  if (!terms?.length) return sql``;
  const parts = terms.map((t) => {
    if (!allowed.has(t.by)) throw badRequest("orderBy", `cannot order by ${t.by}`);
    return sql.raw(`${ident(t.by)} ${t.desc ? "DESC NULLS LAST" : "ASC NULLS FIRST"}`);
  });
  return sql` ORDER BY ${sql.join(parts, sql`, `)}`;
}

function limitSql(limit: number | undefined): RawBuilder<unknown> {
  if (limit === undefined) return sql``;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT)
    throw badRequest("limit", `must be a whole number from 1 to ${MAX_LIMIT}`);
  return sql` LIMIT ${limit}`;
}

/**
 * The statement for a spend query (for callers that stream or wrap it). Columns: the dims in order,
 * then requests (int8), spend, prompt_tokens, completion_tokens, total_tokens (float8).
 */
export async function spendTotalsSql(db: Db, scope: Scope, q: SpendQuery): Promise<RawBuilder<SpendRow>> {
  if (!q.folded) await foldBeforeRead(db);
  const dims = [...new Set(q.dims ?? [])];
  const filters = q.filters ?? {};
  checkDims(dims, filters);
  const user = scopeUserId(scope);
  let grain = chooseSpendGrain(dims, filters, scope);
  const derived = await haveDerivedGrains(db);
  if (grain?.table === END_USER_GRAIN.table && !derived)
    grain = chooseSpendGrain(
      dims,
      filters,
      scope,
      SPEND_GRAINS.filter((g) => g !== END_USER_GRAIN),
    );
  const tagQuery = dims.includes("tag") || "tag" in filters;
  const split = (q.attribution ?? "split") === "split";
  const { days, raw } = splitWindow(q.window);
  const haveCols = await rawSpendColumns(db);

  const outDims = dims.map((d) => sql.raw(ident(d)));

  // Raw logs: one row per log (per tag element for tag queries), same columns as the rollup rows.
  // `negate`: the measures with the opposite sign (a day's logs outside the window, subtracted).
  const rawSelect = (where: RawBuilder<unknown>, dirtyDays = false, negate = false) => {
    const cols: RawBuilder<unknown>[] = [];
    for (const d of dims) {
      if (d === "day") cols.push(sql`spendlens.utc_day(l."startTime") AS "day"`);
      else if (d === "tag") cols.push(sql`e.tag AS "tag"`);
      else if (!haveCols.has(d)) cols.push(sql.raw(`NULL::text AS ${ident(d)}`));
      else cols.push(sql.raw(`l.${ident(d)} AS ${ident(d)}`));
    }
    const spend = tagQuery && split ? sql`coalesce(l.spend, 0) / e.n` : sql`coalesce(l.spend, 0)`;
    const conds: RawBuilder<unknown>[] = [where];
    for (const [k, v] of Object.entries(filters)) {
      if (v === undefined) continue;
      const col =
        k === "tag" ? sql`e.tag` : haveCols.has(k) ? sql.raw(`l.${ident(k)}`) : sql.raw("NULL::text");
      conds.push(filterSql(col, v as FilterValue));
    }
    if (user !== null) conds.push(sql`l."user" = ${user}`);
    const m = sql.raw(negate ? "-" : "");
    return sql`SELECT ${sql.join([...cols, sql`${m}1::int8 AS requests`, sql`(${m}${spend})::float8 AS spend`, sql`${m}coalesce(l.prompt_tokens, 0)::int8 AS prompt_tokens`, sql`${m}coalesce(l.completion_tokens, 0)::int8 AS completion_tokens`, sql`${m}coalesce(l.total_tokens, 0)::int8 AS total_tokens`], sql`, `)}
      FROM ${dirtyDays ? dirtyRawFrom("LiteLLM_SpendLogs") : sql`"LiteLLM_SpendLogs" l`}${tagQuery ? sql` CROSS JOIN LATERAL spendlens.request_tags(l.request_tags) e` : sql``}
      WHERE ${sql.join(conds, sql` AND `)}`;
  };

  const parts: RawBuilder<unknown>[] = [];
  let dirtyCte = sql``;
  let complemented = false;
  if (days && grain) {
    const edges = planEdges(raw, q.edges ?? "auto");
    const edgeDays = edges.filter((e) => e.complement).map((e) => e.day);
    dirtyCte = dirtyDaysCte(days, q.matchRaw ?? false, edgeDays);
    const rcols = dims.map((d) => sql.raw(`r.${ident(d)}`));
    const rconds: RawBuilder<unknown>[] = [];
    for (const [k, v] of Object.entries(filters)) {
      if (v !== undefined) rconds.push(filterSql(sql.raw(`r.${ident(k)}`), v as FilterValue));
    }
    if (user !== null) rconds.push(sql`r."user" = ${user}`);
    const spendCol = grain.tag && split ? sql`r.spend_split` : sql`r.spend`;
    const rollupSelect = (where: RawBuilder<unknown>[]) =>
      sql`SELECT ${sql.join([...rcols, sql`r.requests`, sql`${spendCol} AS spend`, sql`r.prompt_tokens`, sql`r.completion_tokens`, sql`r.total_tokens`], sql`, `)}
      FROM spendlens.${sql.raw(ident(grain.table))} r WHERE ${sql.join([...where, ...rconds], sql` AND `)}`;
    const weeks = derived ? weeklyRange(grain.table, dims, filters, user, days) : null;
    if (!weeks) parts.push(rollupSelect([...dayRange("r", days), notDirty]));
    else {
      // Whole weeks from key_weekly, except weeks with a dirty day; the days before and after them,
      // and the clean days of those weeks, from key_daily.
      if (weeks.from !== null && days.from! < weeks.from)
        parts.push(rollupSelect([...dayRange("r", { from: days.from, to: weeks.from }), notDirty]));
      if (weeks.to !== null && (days.to === null || weeks.to < days.to))
        parts.push(rollupSelect([...dayRange("r", { from: weeks.to, to: days.to }), notDirty]));
      const dirtyWeeks = sql.raw(
        `(SELECT ARRAY(SELECT DISTINCT ${weekSql("x")} FROM unnest(dirty.days) AS x) FROM dirty)::date[]`,
      );
      const wconds: RawBuilder<unknown>[] = [];
      if (weeks.from !== null) wconds.push(sql`r.week >= ${weeks.from}::date`);
      if (weeks.to !== null) wconds.push(sql`r.week < ${weeks.to}::date`);
      parts.push(sql`SELECT ${sql.join([...rcols, sql`r.requests`, sql`r.spend`, sql`r.prompt_tokens`, sql`r.completion_tokens`, sql`r.total_tokens`], sql`, `)}
      FROM spendlens.${sql.raw(ident(KEY_WEEKLY.table))} r WHERE ${sql.join([...wconds, sql`r.week <> ALL(${dirtyWeeks})`], sql` AND `)}`);
      parts.push(
        rollupSelect([
          ...dayRange("r", weeks),
          sql.raw(`r.day >= (SELECT ${weekSql("dirty.lo")} FROM dirty)`),
          sql.raw(`r.day < (SELECT ${weekSql("dirty.hi")} + 7 FROM dirty)`),
          sql`${sql.raw(weekSql("r.day"))} = ANY(${dirtyWeeks})`,
          notDirty,
        ]),
      );
    }
    // Dirty days inside the window: from the raw logs (UTC midnight bounds; sessions run in UTC).
    parts.push(rawSelect(sql`true`, true));
    for (const e of edges) {
      if (!e.complement) {
        parts.push(rawSelect(rangeSql(e.part)));
        continue;
      }
      // The whole day from the rollup minus its logs outside the window, when the day is clean; its
      // logs inside the window when it is not. The test is one value for the statement (an InitPlan),
      // so only one side runs.
      complemented = true;
      const clean = sql`NOT (${e.day}::date = ANY((SELECT edges.unclean FROM edges)::date[]))`;
      parts.push(rollupSelect([sql`r.day = ${e.day}::date`, clean]));
      parts.push(rawSelect(sql`${rangeSql(e.complement)} AND ${clean}`, false, true));
      parts.push(rawSelect(sql`${rangeSql(e.part)} AND NOT ${clean}`));
    }
  } else {
    // No grain covers the query, or no whole day in the window: the raw logs answer it all.
    const w = q.window;
    if (!(w.from !== null && w.to !== null && Date.parse(w.from) >= Date.parse(w.to))) {
      parts.push(rawSelect(rangeSql({ from: w.from && isoOf(w.from), to: w.to && isoOf(w.to) })));
    }
  }

  // Counts are summed as float8, not int8: sum(int8) accumulates in numeric, which made a 30-day
  // top-keys read ~1.7× slower. Exact while a total stays below 2^53 (9e15 requests or tokens).
  const measures = sql`coalesce(sum(u.requests::float8), 0)::int8 AS requests, coalesce(sum(u.spend), 0)::float8 AS spend,
    coalesce(sum(u.prompt_tokens::float8), 0)::float8 AS prompt_tokens, coalesce(sum(u.completion_tokens::float8), 0)::float8 AS completion_tokens,
    coalesce(sum(u.total_tokens::float8), 0)::float8 AS total_tokens`;
  const allowedOrder = new Set<string>([...dims, ...SPEND_MEASURE_NAMES]);
  const order = orderSql(q.orderBy, allowedOrder);
  const limit = limitSql(q.limit);
  const union = parts.length ? sql.join(parts, sql` UNION ALL `) : emptySpendRows(dims);
  // A group seen only in a subtracted part nets to zero requests: it has no log in the window.
  const groupBy = outDims.length
    ? sql` GROUP BY ${sql.join(outDims, sql`, `)}${complemented ? sql` HAVING sum(u.requests::float8) <> 0` : sql``}`
    : sql``;
  const select = outDims.length ? sql`${sql.join(outDims, sql`, `)}, ${measures}` : measures;
  return sql<SpendRow>`${dirtyCte}SELECT ${select} FROM (${union}) u${groupBy}${order}${limit}`;
}

/** `alias.day >= from AND alias.day < to` for a day range (bounds bound as parameters). */
function dayRange(
  alias: "r" | "rollup_days",
  days: { from: string | null; to: string | null },
): RawBuilder<unknown>[] {
  const a = sql.raw(alias);
  const c: RawBuilder<unknown>[] = [];
  if (days.from !== null) c.push(sql`${a}.day >= ${days.from}::date`);
  if (days.to !== null) c.push(sql`${a}.day < ${days.to}::date`);
  return c;
}

/**
 * The window's dirty days (a failed or paused trigger) as ONE row (lo, hi, days): an aggregate always
 * plans as a single row, so the raw part for dirty days plans as one bounded "startTime" index probe,
 * never as a scan of the table (nor a JIT compile). With no dirty day, lo and hi are NULL and the
 * probe returns nothing at once.
 */
function dirtyDaysCte(
  days: { from: string | null; to: string | null },
  matchRaw = false,
  edgeDays: readonly string[] = [],
): RawBuilder<unknown> {
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
    FROM spendlens.rollup_days WHERE ${sql.join(conds, sql` AND `)})${edges} `;
}

/**
 * The raw rows of the dirty days: from the first to the last dirty day, on a dirty day. `dirty.lo IS
 * NOT NULL` filters the one CTE row itself, so with no dirty day the log table is not read at all: the
 * error logs have no "startTime" index (LiteLLM creates none), and the join alone scanned all of them on
 * every exception report.
 */
const dirtyRawFrom = (table: "LiteLLM_SpendLogs" | "LiteLLM_ErrorLogs") =>
  sql.raw(`dirty JOIN "${table}" l ON dirty.lo IS NOT NULL AND l."startTime" >= dirty.lo::timestamp
      AND l."startTime" < (dirty.hi + 1)::timestamp AND spendlens.utc_day(l."startTime") = ANY(dirty.days)`);

/** Rollup rows outside the dirty days. */
const notDirty = sql`r.day <> ALL((SELECT dirty.days FROM dirty)::date[])`;

function rangeSql(r: TimeWindow): RawBuilder<unknown> {
  const c: RawBuilder<unknown>[] = [];
  if (r.from !== null) c.push(sql`l."startTime" >= ${r.from}`);
  if (r.to !== null) c.push(sql`l."startTime" < ${r.to}`);
  return c.length ? sql.join(c, sql` AND `) : sql`true`;
}

function emptySpendRows(dims: readonly string[]): RawBuilder<unknown> {
  const cols = dims.map((d) => (d === "day" ? `NULL::date AS "day"` : `NULL::text AS ${ident(d)}`));
  return sql.raw(
    `SELECT ${[...cols, "0::int8 AS requests", "0::float8 AS spend", "0::int8 AS prompt_tokens", "0::int8 AS completion_tokens", "0::int8 AS total_tokens"].join(", ")} WHERE false`,
  );
}

/** How a spend query would be answered (tests and the bench print it). */
export function planSpendQuery(scope: Scope, q: SpendQuery): SpendPlan {
  const dims = q.dims ?? [];
  const filters = q.filters ?? {};
  checkDims(dims, filters);
  const grain = chooseSpendGrain(dims, filters, scope);
  const { days, raw } = splitWindow(q.window);
  if (!grain || !days)
    return {
      table: null,
      rollupDays: null,
      rawRanges: days || raw.length ? [q.window] : [],
      complements: [],
    };
  const edges = planEdges(raw, q.edges ?? "auto");
  const weeks = weeklyRange(grain.table, dims, filters, scopeUserId(scope), days);
  return {
    table: grain.table,
    rollupDays: days,
    rawRanges: edges.filter((e) => !e.complement).map((e) => e.part),
    complements: edges.flatMap((e) => (e.complement ? [e.complement] : [])),
    weekly: weeks && { table: KEY_WEEKLY.table, ...weeks },
  };
}

/**
 * Spend, requests and tokens grouped by `dims` over a window, from the rollups (see the top of this
 * file). Scope is applied: an internal user gets only rows whose "user" is theirs.
 */
export async function spendTotals(db: Db, scope: Scope, q: SpendQuery): Promise<SpendRow[]> {
  const stmt = await spendTotalsSql(db, scope, q);
  const r = await stmt.execute(db);
  return r.rows;
}

// ---- per-day reads (streamed reports) ----

/**
 * The given UTC days ('YYYY-MM-DD', in the order given) with whether each is dirty: rows (day date,
 * dirty boolean). For a per-day read: `WITH days AS MATERIALIZED (…) SELECT … FROM days d CROSS JOIN
 * LATERAL (… spendDayRowsSql(…, sql`d.day`, sql`d.dirty`) …)`: a nested loop over the days, so rows
 * come out day after day and each day's work (a few thousand rollup rows) stays in memory.
 */
export function windowDaysSql(
  days: readonly string[],
  opts: { matchRaw?: boolean } = {},
): RawBuilder<{ day: string; dirty: boolean }> {
  // matchRaw (as SpendQuery.matchRaw): days whose raw logs were deleted while the rollups kept their
  // totals (delete mode `keep`) are read from the raw logs too, so the answer is what the table holds.
  const flag = opts.matchRaw
    ? sql`(rd.dirty_at IS NOT NULL OR rd.raw_deleted)`
    : sql`rd.dirty_at IS NOT NULL`;
  return sql`SELECT w.day, EXISTS (SELECT 1 FROM spendlens.rollup_days rd
      WHERE rd.day = w.day AND ${flag}) AS dirty
    FROM unnest(${[...days]}::date[]) WITH ORDINALITY AS w(day, n) ORDER BY w.n`;
}

/**
 * One UTC day's spend rows, for a per-day read (see windowDaysSql): the rows of the smallest grain
 * covering `dims`, `filters` and the scope when the day is clean, the day's raw logs when it is dirty
 * (so, like spendTotals, always equal to the raw logs). Not aggregated (one grain row or one log per
 * row): the caller groups. `day` (a date) and `dirty` (a boolean) are expressions of the enclosing
 * query. Columns: the dims, then requests, spend, prompt_tokens, completion_tokens, total_tokens.
 */
export async function spendDayRowsSql(
  db: Db,
  scope: Scope,
  q: { dims: readonly SpendDim[]; filters?: Partial<Record<SpendDim, FilterValue>> },
  day: RawBuilder<unknown>,
  dirty: RawBuilder<unknown>,
): Promise<RawBuilder<unknown>> {
  await foldBeforeRead(db);
  const dims = [...new Set(q.dims)];
  const filters = q.filters ?? {};
  checkDims(dims, filters);
  const grain = chooseSpendGrain(dims, filters, scope);
  if (!grain) throw new Error(`no rollup grain covers ${dims.join(", ")}`); // detail_daily covers every SpendDim
  const user = scopeUserId(scope);
  const haveCols = await rawSpendColumns(db);
  const side = (alias: "r" | "l") => {
    const col = (d: string) =>
      alias === "l" && !haveCols.has(d) ? sql.raw("NULL::text") : sql.raw(`${alias}.${ident(d)}`);
    const cols = dims.map((d) => sql`${col(d)} AS ${sql.raw(ident(d))}`);
    const conds: RawBuilder<unknown>[] = [];
    for (const [k, v] of Object.entries(filters)) if (v !== undefined) conds.push(filterSql(col(k), v));
    if (user !== null) conds.push(sql`${sql.raw(alias)}."user" = ${user}`);
    return { cols, conds };
  };
  const r = side("r");
  const l = side("l");
  const measures = (a: "r" | "l") =>
    a === "r"
      ? sql`r.requests, r.spend, r.prompt_tokens, r.completion_tokens, r.total_tokens`
      : sql`1::int8 AS requests, coalesce(l.spend, 0)::float8 AS spend, coalesce(l.prompt_tokens, 0)::int8 AS prompt_tokens,
        coalesce(l.completion_tokens, 0)::int8 AS completion_tokens, coalesce(l.total_tokens, 0)::int8 AS total_tokens`;
  const and = (c: RawBuilder<unknown>[]) => (c.length ? sql` AND ${sql.join(c, sql` AND `)}` : sql``);
  return sql`SELECT ${sql.join(r.cols, sql`, `)}, ${measures("r")}
      FROM spendlens.${sql.raw(ident(grain.table))} r WHERE r.day = ${day} AND NOT ${dirty}${and(r.conds)}
    UNION ALL
    SELECT ${sql.join(l.cols, sql`, `)}, ${measures("l")}
      FROM "LiteLLM_SpendLogs" l WHERE ${dirty} AND l."startTime" >= (${day})::timestamp
        AND l."startTime" < ((${day}) + 1)::timestamp${and(l.conds)}`;
}

// ---- error logs ----

export type ErrorRollupDim = ErrorDim | "day";
export type ErrorFilters = Partial<Record<ErrorDim, FilterValue>>;

export interface ErrorQuery {
  window: TimeWindow;
  dims?: readonly ErrorRollupDim[];
  filters?: ErrorFilters;
  orderBy?: readonly OrderTerm<ErrorRollupDim | "errors">[];
  limit?: number;
}

export type ErrorRow = Partial<Record<ErrorRollupDim, string | null>> & { errors: number };

const ERROR_DIM_SET = new Set<string>(ERROR_DIMS);

/**
 * Error-log counts grouped by `dims` over a window. Error logs carry no user, so only an
 * all-rows scope may read them (the seed's exception reports are admin-only).
 */
export async function errorTotals(db: Db, scope: Scope, q: ErrorQuery): Promise<ErrorRow[]> {
  if (scopeUserId(scope) !== null) throw forbidden("error logs are visible to admins only");
  const dims = [...new Set(q.dims ?? [])];
  const filters = q.filters ?? {};
  for (const d of dims)
    if (d !== "day" && !ERROR_DIM_SET.has(d)) throw badRequest("dims", `unknown dimension ${d}`);
  for (const f of Object.keys(filters))
    if (!ERROR_DIM_SET.has(f)) throw badRequest("filters", `unknown dimension ${f}`);
  const { days, raw } = splitWindow(q.window);
  const rawSelect = (where: RawBuilder<unknown>, dirtyDays = false) => {
    const cols = dims.map((d) =>
      d === "day" ? sql`spendlens.utc_day(l."startTime") AS "day"` : sql.raw(`l.${ident(d)} AS ${ident(d)}`),
    );
    const conds: RawBuilder<unknown>[] = [where];
    for (const [k, v] of Object.entries(filters))
      if (v !== undefined) conds.push(filterSql(sql.raw(`l.${ident(k)}`), v as FilterValue));
    const from = dirtyDays ? dirtyRawFrom("LiteLLM_ErrorLogs") : sql`"LiteLLM_ErrorLogs" l`;
    return sql`SELECT ${sql.join([...cols, sql`1::int8 AS errors`], sql`, `)} FROM ${from} WHERE ${sql.join(conds, sql` AND `)}`;
  };
  const parts: RawBuilder<unknown>[] = [];
  let dirtyCte = sql``;
  if (days) {
    dirtyCte = dirtyDaysCte(days);
    const conds: RawBuilder<unknown>[] = dayRange("r", days);
    for (const [k, v] of Object.entries(filters))
      if (v !== undefined) conds.push(filterSql(sql.raw(`r.${ident(k)}`), v as FilterValue));
    conds.push(notDirty);
    const rcols = dims.map((d) => sql.raw(`r.${ident(d)}`));
    parts.push(
      sql`SELECT ${sql.join([...rcols, sql`r.errors`], sql`, `)} FROM spendlens.${sql.raw(ident(ERROR_GRAIN.table))} r WHERE ${sql.join(conds, sql` AND `)}`,
    );
    parts.push(rawSelect(sql`true`, true));
    for (const r of raw) parts.push(rawSelect(rangeSql(r)));
  } else if (raw.length) {
    parts.push(rawSelect(rangeSql(raw[0]!)));
  }
  const outDims = dims.map((d) => sql.raw(ident(d)));
  const measures = sql`coalesce(sum(u.errors::float8), 0)::int8 AS errors`; // float8: see spendTotalsSql
  const union = parts.length
    ? sql.join(parts, sql` UNION ALL `)
    : sql.raw(
        `SELECT ${[...dims.map((d) => (d === "day" ? `NULL::date AS "day"` : `NULL::text AS ${ident(d)}`)), "0::int8 AS errors"].join(", ")} WHERE false`,
      );
  const order = orderSql(q.orderBy, new Set<string>([...dims, "errors"]));
  const groupBy = outDims.length ? sql` GROUP BY ${sql.join(outDims, sql`, `)}` : sql``;
  const select = outDims.length ? sql`${sql.join(outDims, sql`, `)}, ${measures}` : measures;
  const r =
    await sql<ErrorRow>`${dirtyCte}SELECT ${select} FROM (${union}) u${groupBy}${order}${limitSql(q.limit)}`.execute(
      db,
    );
  return r.rows;
}

// ---- tags counted per request (migration 0004) ----

/** A per-tag query: a half-open UTC window and, optionally, the tags wanted. */
export interface TagRequestQuery {
  window: TimeWindow;
  /** Only these tags (a request's split share is not recomputed over them); null or absent: every tag. */
  tags?: readonly string[] | null;
}

export interface TagRequestRow {
  tag: string;
  /** Requests carrying the tag. */
  requests: number;
  /** The whole spend of each of those requests. */
  spend: number;
  /** Each request's spend divided by its number of distinct tags. */
  spend_split: number;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

const TAG_REQUEST_MEASURES = [
  "requests",
  "spend",
  "spend_split",
  "prompt_tokens",
  "completion_tokens",
  "total_tokens",
] as const;

/**
 * Per-tag totals with the tag reports' semantics: a request counts once for each DISTINCT non-null
 * element of its request_tags array (a non-array is no tags); `spend_split` gives it spend / (its
 * number of distinct tags), `spend` the whole spend. Read like spendTotals: whole UTC days from
 * tag_request_daily (admins) or user_tag_request_daily (an internal user, through its (user, day)
 * index), partial days at the window's edges and dirty days from the raw logs, in one statement.
 */
export async function tagRequestTotals(db: Db, scope: Scope, q: TagRequestQuery): Promise<TagRequestRow[]> {
  await foldBeforeRead(db);
  const user = scopeUserId(scope);
  const tags = q.tags ?? null;
  const { days, raw } = splitWindow(q.window);
  const tagCond = (col: RawBuilder<unknown>) => (tags === null ? [] : [filterSql(col, tags)]);

  const rawSelect = (where: RawBuilder<unknown>, dirtyDays = false) => {
    const conds: RawBuilder<unknown>[] = [where, ...tagCond(sql`e.tag`)];
    if (user !== null) conds.push(sql`l."user" = ${user}`);
    return sql`SELECT e.tag, 1::int8 AS requests, coalesce(l.spend, 0)::float8 AS spend,
        (coalesce(l.spend, 0) / e.n)::float8 AS spend_split, coalesce(l.prompt_tokens, 0)::int8 AS prompt_tokens,
        coalesce(l.completion_tokens, 0)::int8 AS completion_tokens, coalesce(l.total_tokens, 0)::int8 AS total_tokens
      FROM ${dirtyDays ? dirtyRawFrom("LiteLLM_SpendLogs") : sql`"LiteLLM_SpendLogs" l`}
        CROSS JOIN LATERAL spendlens.request_tag_set(l.request_tags) e
      WHERE ${sql.join(conds, sql` AND `)}`;
  };

  const parts: RawBuilder<unknown>[] = [];
  let dirtyCte = sql``;
  if (days) {
    dirtyCte = dirtyDaysCte(days);
    const table = user === null ? TAG_REQUEST_TABLE : USER_TAG_REQUEST_TABLE;
    const conds: RawBuilder<unknown>[] = [...dayRange("r", days), ...tagCond(sql`r."tag"`)];
    if (user !== null) conds.push(sql`r."user" = ${user}`);
    conds.push(notDirty);
    parts.push(sql`SELECT r."tag", ${sql.raw(TAG_REQUEST_MEASURES.map((m) => `r.${m}`).join(", "))}
      FROM spendlens.${sql.raw(ident(table))} r WHERE ${sql.join(conds, sql` AND `)}`);
    parts.push(rawSelect(sql`true`, true));
    for (const r of raw) parts.push(rawSelect(rangeSql(r)));
  } else if (raw.length) {
    parts.push(rawSelect(rangeSql(raw[0]!)));
  }
  if (!parts.length) return [];
  const r =
    await sql<TagRequestRow>`${dirtyCte}SELECT u."tag", coalesce(sum(u.requests), 0)::int8 AS requests,
      coalesce(sum(u.spend), 0)::float8 AS spend, coalesce(sum(u.spend_split), 0)::float8 AS spend_split,
      coalesce(sum(u.prompt_tokens), 0)::float8 AS prompt_tokens, coalesce(sum(u.completion_tokens), 0)::float8 AS completion_tokens,
      coalesce(sum(u.total_tokens), 0)::float8 AS total_tokens
    FROM (${sql.join(parts, sql` UNION ALL `)}) u GROUP BY u."tag" ORDER BY u."tag"`.execute(db);
  return r.rows;
}
