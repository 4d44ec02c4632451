import { now } from "../clock.ts";
import type { SchemaFacts } from "../db/schemaFacts.ts";
import { badRequest, forbidden } from "../errors.ts";
import { type Scope, scopeUserId } from "../scope.ts";
import { addDays, DAY_MS } from "../validation.ts";
import {
  END_USER_GRAIN,
  ERROR_DIMS,
  ERROR_GRAIN,
  type ErrorDim,
  KEY_WEEKLY,
  SPEND_DIMS,
  SPEND_GRAINS,
  type SpendDim,
  type SpendGrain,
  TAG_GRAINS,
  TAG_REQUEST_TABLE,
  USER_TAG_REQUEST_TABLE,
} from "./grains.ts";
import { MEASURE_SETS, type MeasureSetName } from "./measures.ts";

/**
 * The query planner: a pure function from a request (what to count, grouped and filtered how, over
 * which window, for whom) and the database's schema facts to a `Plan`, plain data saying everything the
 * statement will do. `render(plan)` (rollups/render.ts) turns any plan into its one statement; tests and
 * `explain` look at the same plan that runs. The plan:
 *   - the smallest grain whose dimensions cover the dims, the filters and the caller's scope (a derived
 *     grain only when the schema has it: else its source);
 *   - whole UTC days of the window from that grain (whole ISO weeks of an admin's unfiltered per-key
 *     read from key_weekly), the partial days at either end from the raw logs or as the day's rollup rows
 *     minus its logs outside the window (`edges`);
 *   - days marked dirty in spendlens.rollup_days (a failed or paused trigger) from the raw logs too,
 *     decided inside the same statement, so the answer is one snapshot: always equal to a sum over the
 *     raw logs (up to float rounding order), including logs committed a moment ago.
 * Queries no grain covers (a tag with any other dimension, or a tag for an internal user) read the raw
 * logs only: slower, same numbers.
 */

export type RollupDim = SpendDim | "day" | "tag";
export type FilterValue = string | null | readonly (string | null)[];
export type RollupFilters = Partial<Record<SpendDim | "tag", FilterValue>>;
export const SPEND_MEASURE_NAMES = MEASURE_SETS.spend.measures.map((m) => m.name) as readonly SpendMeasure[];
export type SpendMeasure = "requests" | "spend" | "prompt_tokens" | "completion_tokens" | "total_tokens";

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
   * `full` gives every tag the whole spend (LiteLLM's figures). Requests and tokens count per tag.
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
}

export type ErrorRollupDim = ErrorDim | "day";
export type ErrorFilters = Partial<Record<ErrorDim, FilterValue>>;

export interface ErrorQuery {
  window: TimeWindow;
  dims?: readonly ErrorRollupDim[];
  filters?: ErrorFilters;
  orderBy?: readonly OrderTerm<ErrorRollupDim | "errors">[];
  limit?: number;
}

/** A per-tag query: a half-open UTC window and, optionally, the tags wanted. */
export interface TagRequestQuery {
  window: TimeWindow;
  /** Only these tags (a request's split share is not recomputed over them); null or absent: every tag. */
  tags?: readonly string[] | null;
}

/** What to plan: a measure set and its query, for a caller's scope. */
export type PlanRequest =
  | { kind: "spend"; scope: Scope; query: SpendQuery }
  | { kind: "errors"; scope: Scope; query: ErrorQuery }
  | { kind: "tagRequests"; scope: Scope; query: TagRequestQuery };

/** One equality filter, as bound values (`withNull`: also IS NULL). */
export interface PlanFilter {
  dim: string;
  values: string[];
  withNull: boolean;
}

/** An edge day read as its rollup rows minus its logs outside the window (when clean; else `part` raw). */
export interface PlanComplement {
  day: string;
  /** The window's part of the day (read raw when the day is dirty or raw-deleted). */
  part: TimeWindow;
  /** The rest of the day, subtracted. */
  complement: TimeWindow;
}

/** Everything a statement does, as data (JSON): `render(plan)` is the statement. */
export interface Plan {
  /** Which measures (columns and aggregates, rollups/measures.ts). */
  measures: MeasureSetName;
  /** The raw log table that partial days, dirty days and uncovered queries read. */
  logTable: "LiteLLM_SpendLogs" | "LiteLLM_ErrorLogs";
  /** Output dimensions, in order. */
  dims: string[];
  filters: PlanFilter[];
  /** Rows of this user only (an internal user's scope), or null for every row. */
  user: string | null;
  /** How a raw log becomes tag rows: every element (`elements`, with their count), distinct ones, or none. */
  tags: "elements" | "distinct" | null;
  /** The rollup table for whole days, or null when the raw logs answer everything. */
  table: string | null;
  /** Why `table` is not the grain the query would prefer (a derived table the schema lacks), or null. */
  fallback: string | null;
  /** Whole days read from the rollup: [fromDay, toDay) ('YYYY-MM-DD'; null = unbounded). */
  rollupDays: { from: string | null; to: string | null } | null;
  /** Whole ISO weeks [from, to) (Mondays; null = unbounded) read from a weekly table instead of `table`. */
  weekly: { table: string; from: string | null; to: string | null } | null;
  /** Instants read from the raw logs (besides dirty days). */
  rawRanges: TimeWindow[];
  /** Edge days read as rollup rows minus raw logs (see PlanComplement). */
  complements: PlanComplement[];
  /**
   * Days flagged in spendlens.rollup_days inside `rollupDays` are read from the raw logs (decided in the
   * statement): dirty ones, and with `matchRaw` raw-deleted ones too. Null when no rollup is read.
   */
  dirtyDays: { matchRaw: boolean } | null;
  /** Dimensions (or filters) the raw log table lacks: read as NULL there. */
  nullColumns: string[];
  orderBy: { by: string; desc: boolean }[];
  limit: number | null;
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

/** A filter on `dim`: its bound values, and whether NULL matches too. */
export function planFilter(dim: string, v: FilterValue): PlanFilter {
  const arr = typeof v === "string" || v === null ? [v] : [...v];
  return { dim, values: arr.filter((x): x is string => x !== null), withNull: arr.some((x) => x === null) };
}

function planFilters(filters: Record<string, FilterValue | undefined>): PlanFilter[] {
  return Object.entries(filters).flatMap(([dim, v]) => (v === undefined ? [] : [planFilter(dim, v)]));
}

function checkNames(field: string, names: readonly string[], allowed: ReadonlySet<string>): void {
  for (const d of names) if (!allowed.has(d)) throw badRequest(field, `unknown dimension ${d}`);
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

/** The Monday of a day's ISO week ('YYYY-MM-DD'). */
function weekOf(day: string): string {
  const t = Date.parse(`${day}T00:00:00Z`);
  const dow = (new Date(t).getUTCDay() + 6) % 7; // Monday 0 … Sunday 6
  return new Date(t - dow * DAY_MS).toISOString().slice(0, 10);
}

/**
 * The whole ISO weeks [from, to) (Mondays, null = unbounded) inside a range of whole days, when a
 * query may read them from a weekly table: an admin's per-key read with no filter and no per-day
 * grouping (top keys) whose window holds at least one whole week. Null otherwise.
 */
function weeklyRange(
  grainTable: string,
  dims: readonly string[],
  filters: readonly PlanFilter[],
  user: string | null,
  days: { from: string | null; to: string | null },
): { from: string | null; to: string | null } | null {
  if (grainTable !== KEY_WEEKLY.source || user !== null || dims.includes("day")) return null;
  if (filters.length) return null;
  const from =
    days.from === null ? null : days.from === weekOf(days.from) ? days.from : addDays(weekOf(days.from), 7);
  const to = days.to === null ? null : weekOf(days.to);
  if (from !== null && to !== null && from >= to) return null;
  return { from, to };
}

/**
 * Splits splitWindow's partial edge days into those read raw and those read as rollup minus complement:
 * `complement` always, `raw` never, `auto` when the rest of the day up to `nowMs` is shorter than the
 * window's part of it (logs are written at their start time: the part of a day after now holds next to
 * nothing).
 */
function planEdges(
  raw: TimeWindow[],
  mode: "auto" | "raw" | "complement",
  nowMs: number,
): { rawRanges: TimeWindow[]; complements: PlanComplement[] } {
  const out = { rawRanges: [] as TimeWindow[], complements: [] as PlanComplement[] };
  for (const part of raw) {
    const f = Date.parse(part.from!);
    const t = Date.parse(part.to!);
    const dayStart = Math.floor(f / DAY_MS) * DAY_MS;
    const dayEnd = dayStart + DAY_MS;
    // splitWindow's edges touch a day boundary: the start edge ends at the next midnight, the end edge
    // starts at one.
    const comp = f === dayStart ? { from: t, to: dayEnd } : { from: dayStart, to: f };
    const live = (a: number, b: number) => Math.max(0, Math.min(b, nowMs) - a);
    const use = mode === "complement" || (mode === "auto" && live(comp.from, comp.to) < live(f, t));
    const iso = (ms: number) => new Date(ms).toISOString();
    if (!use) out.rawRanges.push(part);
    else
      out.complements.push({
        day: iso(dayStart).slice(0, 10),
        part,
        complement: { from: iso(comp.from), to: iso(comp.to) },
      });
  }
  return out;
}

function planOrder(
  terms: readonly OrderTerm<string>[] | undefined,
  allowed: ReadonlySet<string>,
): { by: string; desc: boolean }[] {
  return (terms ?? []).map((t) => {
    if (!allowed.has(t.by)) throw badRequest("orderBy", `cannot order by ${t.by}`);
    return { by: t.by, desc: t.desc === true };
  });
}

function planLimit(limit: number | undefined): number | null {
  if (limit === undefined) return null;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT)
    throw badRequest("limit", `must be a whole number from 1 to ${MAX_LIMIT}`);
  return limit;
}

/** The window's days from `table`, its edges and dirty days as planned; or the whole window raw. */
function planWindow(
  window: TimeWindow,
  table: string | null,
  edges: "auto" | "raw" | "complement",
  nowMs: number,
): Pick<Plan, "rollupDays" | "rawRanges" | "complements"> {
  const { days, raw } = splitWindow(window);
  if (table && days) return { rollupDays: days, ...planEdges(raw, edges, nowMs) };
  // No grain covers the query, or no whole day in the window: the raw logs answer it all.
  const from = window.from === null ? null : isoOf(window.from);
  const to = window.to === null ? null : isoOf(window.to);
  const empty = from !== null && to !== null && Date.parse(from) >= Date.parse(to);
  return { rollupDays: null, rawRanges: empty ? [] : [{ from, to }], complements: [] };
}

const SPEND_DIM_SET = new Set<string>(SPEND_DIMS);
const ERROR_DIM_SET = new Set<string>(ERROR_DIMS);
const SPEND_GRAINS_WITHOUT_DERIVED = SPEND_GRAINS.filter((g) => g !== END_USER_GRAIN);

function planSpend(scope: Scope, q: SpendQuery, facts: SchemaFacts, nowMs: number): Plan {
  const dims = [...new Set(q.dims ?? [])];
  const filters = q.filters ?? {};
  checkNames("dims", dims, new Set([...SPEND_DIMS, "day", "tag"]));
  checkNames("filters", Object.keys(filters), new Set([...SPEND_DIM_SET, "tag"]));
  const user = scopeUserId(scope);
  const preferred = chooseSpendGrain(dims, filters, scope);
  const grain = facts.derivedGrains
    ? preferred
    : chooseSpendGrain(dims, filters, scope, SPEND_GRAINS_WITHOUT_DERIVED);
  const tag = dims.includes("tag") || "tag" in filters;
  const split = (q.attribution ?? "split") === "split";
  const planned = planFilters(filters);
  const w = planWindow(q.window, grain?.table ?? null, q.edges ?? "auto", nowMs);
  const weeks =
    grain && w.rollupDays && facts.derivedGrains
      ? weeklyRange(grain.table, dims, planned, user, w.rollupDays)
      : null;
  return {
    measures: tag && split ? "spendTagSplit" : "spend",
    logTable: "LiteLLM_SpendLogs",
    dims,
    filters: planned,
    user,
    tags: tag ? "elements" : null,
    table: w.rollupDays ? grain!.table : null,
    fallback:
      preferred && grain?.table !== preferred.table
        ? `${preferred.table} is missing (migration 0005 not run): ${grain?.table ?? "raw logs"} instead`
        : null,
    ...w,
    weekly: weeks && { table: KEY_WEEKLY.table, ...weeks },
    dirtyDays: w.rollupDays ? { matchRaw: q.matchRaw ?? false } : null,
    nullColumns: [...new Set([...dims, ...planned.map((f) => f.dim)])].filter(
      (d) => d !== "day" && d !== "tag" && !facts.spendLogColumns.has(d),
    ),
    orderBy: planOrder(q.orderBy, new Set<string>([...dims, ...SPEND_MEASURE_NAMES])),
    limit: planLimit(q.limit),
  };
}

function planErrors(scope: Scope, q: ErrorQuery): Plan {
  // Error logs carry no user, so only an all-rows scope may read them (LiteLLM's exception reports
  // are admin-only).
  if (scopeUserId(scope) !== null) throw forbidden("error logs are visible to admins only");
  const dims = [...new Set(q.dims ?? [])];
  const filters = q.filters ?? {};
  checkNames("dims", dims, new Set([...ERROR_DIMS, "day"]));
  checkNames("filters", Object.keys(filters), ERROR_DIM_SET);
  const w = planWindow(q.window, ERROR_GRAIN.table, "raw", 0);
  return {
    measures: "errors",
    logTable: "LiteLLM_ErrorLogs",
    dims,
    filters: planFilters(filters),
    user: null,
    tags: null,
    table: w.rollupDays ? ERROR_GRAIN.table : null,
    fallback: null,
    ...w,
    weekly: null,
    dirtyDays: w.rollupDays ? { matchRaw: false } : null,
    nullColumns: [],
    orderBy: planOrder(q.orderBy, new Set<string>([...dims, "errors"])),
    limit: planLimit(q.limit),
  };
}

function planTagRequests(scope: Scope, q: TagRequestQuery): Plan {
  const user = scopeUserId(scope);
  const table = user === null ? TAG_REQUEST_TABLE : USER_TAG_REQUEST_TABLE;
  const w = planWindow(q.window, table, "raw", 0);
  return {
    measures: "tagRequests",
    logTable: "LiteLLM_SpendLogs",
    dims: ["tag"],
    filters: q.tags == null ? [] : planFilters({ tag: q.tags }),
    user,
    tags: "distinct",
    table: w.rollupDays ? table : null,
    fallback: null,
    ...w,
    weekly: null,
    dirtyDays: w.rollupDays ? { matchRaw: false } : null,
    nullColumns: [],
    orderBy: [{ by: "tag", desc: false }],
    limit: null,
  };
}

/**
 * The plan of a request on a database with these schema facts. Pure: the same arguments give the same
 * plan (`nowMs`, the clock's now by default, only decides `edges: "auto"`). Throws 400s for unknown
 * dimensions, orders and limits, 403 for error logs in an internal user's scope.
 */
export function plan(req: PlanRequest, facts: SchemaFacts, nowMs: number = now().getTime()): Plan {
  switch (req.kind) {
    case "spend":
      return planSpend(req.scope, req.query, facts, nowMs);
    case "errors":
      return planErrors(req.scope, req.query);
    case "tagRequests":
      return planTagRequests(req.scope, req.query);
  }
}
