import { type RawBuilder, sql } from "kysely";
import { z } from "zod";
import { normalizeKeyFilter } from "../auth/hash.ts";
import type { Db } from "../db/connect.ts";
import { type LogColumn, SPEND_LOG_CATALOG } from "../db/logColumns.ts";
import { badRequest, forbidden } from "../errors.ts";
import { executeFolded } from "../rollups/fold.ts";
import type { SpendDim } from "../rollups/grains.ts";
import {
  type FilterValue,
  filterSql,
  planFilter,
  type RollupDim,
  type RollupFilters,
  spendTotalsStatement,
} from "../rollups/query.ts";
import { narrowToUser, type Scope, scopeUserId } from "../scope.ts";
import {
  addDays,
  DAY_MS,
  DAY_RANGE_TEXT,
  daysBetween,
  END_INSTANT_MS,
  isRealDate,
  isSupportedDay,
  isSupportedInstant,
  MIN_INSTANT_MS,
} from "../validation.ts";
import { spendLogColumns } from "./columns.ts";
import {
  BUCKET_UNITS,
  type Bucket,
  type BucketUnit,
  bucketsFor,
  dayStartIn,
  resolveTimeZone,
} from "./zones.ts";

/**
 * One flexible analytics query (SPEC §5): spend, requests and tokens grouped by any set of allowed
 * dimensions and, optionally, a time bucket (hour, day, week, month) in an IANA time zone, over a
 * required window, with filters on the same dimensions.
 *
 * How it is answered (docs/analytics.md):
 *   - every bucket boundary on a UTC midnight (no bucket; day, week or month in UTC, or in a zone at
 *     offset 0 all window long): the rollup engine (rollups/query.ts) groups by UTC day, whole days
 *     from the daily rollups and partial or dirty days from the raw logs, and this module sums its days
 *     into the buckets;
 *   - hour buckets, or day/week/month buckets in a zone whose midnights are not UTC midnights: the raw
 *     logs, bucketed in SQL by `width_bucket` over the bucket starts computed here (zones.ts).
 * Both are exact: the same numbers a brute-force sum over the raw logs gives.
 */

export const ANALYTICS_DIMENSIONS = [
  "api_key",
  "user",
  "team",
  "organization",
  "end_user",
  "model",
  "model_group",
  "provider",
  "tag",
  "api_base",
] as const;
export type AnalyticsDimension = (typeof ANALYTICS_DIMENSIONS)[number];

export const ANALYTICS_MEASURES = [
  "spend",
  "requests",
  "prompt_tokens",
  "completion_tokens",
  "total_tokens",
] as const;
export type AnalyticsMeasure = (typeof ANALYTICS_MEASURES)[number];

/**
 * The allowlist: a dimension's column in "LiteLLM_SpendLogs" (and in the rollups), from the column
 * catalog's `analytics` names (db/logColumns.ts). The only way a dimension name reaches SQL. `provider` is
 * the log's own custom_llm_provider (docs/analytics.md).
 */
const DIM_COLUMN = Object.fromEntries(
  (SPEND_LOG_CATALOG as readonly LogColumn[]).flatMap((c) => (c.analytics ? [[c.analytics, c.name]] : [])),
) as Record<Exclude<AnalyticsDimension, "tag">, SpendDim>;

/** At most this many rows in an answer; `limit` may ask for fewer. */
export const ANALYTICS_MAX_ROWS = 10_000;
/** The longest window per bucket, in days. */
export const ANALYTICS_MAX_DAYS: Record<BucketUnit | "none", number> = {
  hour: 31,
  day: 366,
  week: 1096,
  month: 1096,
  none: 1096,
};

const DIM_SET = new Set<string>(ANALYTICS_DIMENSIONS);
const BUCKET_SET = new Set<string>(BUCKET_UNITS);
const MEASURE_SET = new Set<string>(ANALYTICS_MEASURES);

/** `"name"` for a name from the lists above (never from input as such: checked against them). */
function q(name: string): RawBuilder<unknown> {
  if (!DIM_SET.has(name) && !MEASURE_SET.has(name) && !Object.values(DIM_COLUMN).includes(name as SpendDim))
    throw new Error(`not an allowed identifier: ${name}`);
  return sql.raw(`"${name}"`);
}

const splitList = (v: unknown) =>
  typeof v === "string"
    ? v
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s !== "")
    : v;

const zFilterValues = z.preprocess(
  splitList,
  z
    .array(z.string().max(512, "values must be at most 512 characters").nullable(), {
      error: "must be a value, a comma separated list, or a JSON array",
    })
    .min(1, "must name at least one value")
    .max(1000, "may name at most 1000 values"),
);

const DAY_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const INSTANT_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

function isBound(s: string): boolean {
  const d = DAY_RE.exec(s);
  if (d) return isRealDate(+d[1]!, +d[2]!, +d[3]!);
  const m = INSTANT_RE.exec(s);
  if (!m || !isRealDate(+m[1]!, +m[2]!, +m[3]!)) return false;
  if (+m[4]! > 23 || +m[5]! > 59 || +(m[6] ?? 0) > 59) return false;
  const off = /^[+-](\d{2}):(\d{2})$/.exec(m[7]!);
  if (off && (+off[1]! > 23 || +off[2]! > 59)) return false;
  return !Number.isNaN(Date.parse(s));
}

const zBound = (name: "start" | "end") =>
  z.string({ error: `is required (a day YYYY-MM-DD or an ISO instant)` }).superRefine((s, ctx) => {
    if (!isBound(s))
      ctx.addIssue({
        code: "custom",
        message: `must be a day YYYY-MM-DD (in the query's time zone${name === "end" ? ", included whole" : ""}) or an ISO instant with an offset, e.g. 2026-01-31T12:00:00Z`,
      });
    else if (!isSupportedDay(s.slice(0, 10)))
      ctx.addIssue({ code: "custom", message: `must be within ${DAY_RANGE_TEXT} (got ${s.slice(0, 10)})` });
  });

const filterFields = Object.fromEntries(ANALYTICS_DIMENSIONS.map((d) => [d, zFilterValues.optional()])) as {
  [K in AnalyticsDimension]: z.ZodOptional<typeof zFilterValues>;
};

/**
 * Input of `analytics.query` (REST: the query string of GET /spendlens/analytics, or the JSON body of
 * POST). Filters are the dimension names themselves: `model_group=a,b` (any of), `team=t1`; in JSON
 * a filter may be an array, and a `null` element matches a NULL column.
 */
export const analyticsQueryInput = z
  .object({
    dims: z
      .preprocess(
        splitList,
        z
          .array(
            z.enum([...ANALYTICS_DIMENSIONS, ...BUCKET_UNITS], {
              error: `must be a comma separated list of: ${[...ANALYTICS_DIMENSIONS, ...BUCKET_UNITS].join(", ")}`,
            }),
          )
          .max(16, "may name at most 16 dimensions"),
      )
      .default([]),
    bucket: z.enum(BUCKET_UNITS, { error: `must be one of: ${BUCKET_UNITS.join(", ")}` }).optional(),
    timezone: z
      .string()
      .default("UTC")
      .refine((v) => resolveTimeZone(v) !== null, "must be an IANA time zone name, e.g. Europe/Paris or UTC"),
    start: zBound("start"),
    end: zBound("end"),
    ...filterFields,
    order_by: z
      .enum(ANALYTICS_MEASURES, { error: `must be one of: ${ANALYTICS_MEASURES.join(", ")}` })
      .optional(),
    order: z.enum(["desc", "asc"], { error: "must be desc or asc" }).default("desc"),
    limit: z.coerce
      .number({ error: `must be a whole number from 1 to ${ANALYTICS_MAX_ROWS}` })
      .int(`must be a whole number from 1 to ${ANALYTICS_MAX_ROWS}`)
      .min(1, "must be at least 1")
      .max(ANALYTICS_MAX_ROWS, `must be at most ${ANALYTICS_MAX_ROWS}`)
      .optional(),
    attribution: z.enum(["split", "full"], { error: "must be split or full" }).default("split"),
  })
  .superRefine((v, ctx) => {
    const units = (v.dims ?? []).filter((d) => BUCKET_SET.has(d));
    if (units.length > 1)
      ctx.addIssue({ code: "custom", path: ["dims"], message: "may name at most one time bucket" });
    else if (units.length === 1 && v.bucket !== undefined && v.bucket !== units[0])
      ctx.addIssue({ code: "custom", path: ["bucket"], message: `disagrees with dims (${units[0]})` });
  });

/** What a caller passes: lists as comma separated strings (a query string) or arrays (JSON). */
export type AnalyticsQueryInput = Omit<z.input<typeof analyticsQueryInput>, "dims" | AnalyticsDimension> & {
  dims?: string | readonly string[];
} & { [K in AnalyticsDimension]?: string | readonly (string | null)[] };
export type AnalyticsQuery = z.output<typeof analyticsQueryInput>;

export type AnalyticsRow = Record<string, string | number | null>;

export interface AnalyticsResult {
  /** The window, as UTC instants: [start, end). */
  start: string;
  end: string;
  /** The zone, as the caller spelled it. */
  timezone: string;
  bucket: BucketUnit | null;
  attribution: "split" | "full";
  /** `rollups`: the daily rollups answered the whole days (raw logs the rest); `raw_logs`: raw logs only. */
  source: "rollups" | "raw_logs";
  /** More rows matched than `limit` (or the row cap) let through. */
  truncated: boolean;
  /**
   * One row per group: the bucket (its label, named after the unit: `hour`, `day`, `week` or `month`)
   * and `bucket_start` (UTC ISO) when bucketed, then the dimensions in the order asked, then requests,
   * spend, prompt_tokens, completion_tokens, total_tokens.
   */
  rows: AnalyticsRow[];
}

const isDay = (s: string) => DAY_RE.test(s);

/** A window bound as a UTC instant (ms): a day is the start of that local day (the end: of the next). */
function boundMs(s: string, tz: string, field: "start" | "end"): number {
  if (!isBound(s)) throw badRequest(field, "must be a day YYYY-MM-DD or an ISO instant with an offset");
  if (!isDay(s)) return Date.parse(s);
  if (field === "start") return dayStartIn(tz, s);
  return dayStartIn(tz, addDays(s, 1));
}

/**
 * A window bound, resolved to UTC, must lie in the supported instants (days.ts): a day at the edge of
 * the range in a zone east or west of UTC, or an instant whose offset moves it past the edge, is a 400.
 */
function checkBoundInRange(ms: number, field: "start" | "end", tz: string): void {
  const ok = field === "start" ? isSupportedInstant(ms) : ms > MIN_INSTANT_MS && ms <= END_INSTANT_MS;
  if (!ok)
    throw badRequest(
      field,
      `must be within ${DAY_RANGE_TEXT} (UTC); in time zone ${tz} this bound is ${new Date(ms).toISOString()}`,
    );
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Runs the analytics query for `scope` (an internal user sees only rows whose "user" is theirs; a
 * `user` filter naming anyone else is a 403).
 */
export async function analyticsQuery(
  db: Db,
  scope: Scope,
  input: AnalyticsQueryInput,
): Promise<AnalyticsResult> {
  const parsed = analyticsQueryInput.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw badRequest(issue.path.map(String).join(".") || "input", issue.message);
  }
  const a = parsed.data;
  // Intl knows the zone (checked on the canonical name), but answers with the caller's own spelling:
  // Node's canonical names are ICU's older ones (Asia/Kolkata → Asia/Calcutta).
  if (!resolveTimeZone(a.timezone)) throw badRequest("timezone", "must be an IANA time zone name");
  const tz = a.timezone;

  const dims = [...new Set(a.dims.filter((d) => DIM_SET.has(d)))] as AnalyticsDimension[];
  const bucket = (a.dims.find((d) => BUCKET_SET.has(d)) ?? a.bucket ?? null) as BucketUnit | null;

  const from = boundMs(a.start, tz, "start");
  const to = boundMs(a.end, tz, "end");
  checkBoundInRange(from, "start", tz);
  checkBoundInRange(to, "end", tz);
  if (to <= from) throw badRequest("end", "must be after start");
  const maxDays = ANALYTICS_MAX_DAYS[bucket ?? "none"];
  const tooLong =
    isDay(a.start) && isDay(a.end)
      ? daysBetween(a.start, a.end) > maxDays
      : to - from > maxDays * DAY_MS + 3_600_000;
  if (tooLong)
    throw badRequest("end", `the range may span at most ${maxDays} days with ${bucket ?? "no"} buckets`);

  // Filters, keyed by column (or tag). Raw sk- keys are hashed; an internal user may only name themself.
  const filters: Partial<Record<SpendDim | "tag", (string | null)[]>> = {};
  for (const d of ANALYTICS_DIMENSIONS) {
    const v = a[d];
    if (v === undefined) continue;
    let values = [...new Set(v)];
    if (d === "api_key") values = values.map((x) => (x === null ? x : normalizeKeyFilter(x)));
    if (d === "user" && scope.kind === "user") {
      for (const u of values) {
        if (u === null) throw forbidden("internal users may only see their own data");
        narrowToUser(scope, u);
      }
    }
    filters[d === "tag" ? "tag" : DIM_COLUMN[d]] = values;
  }

  const buckets = bucket ? bucketsFor(bucket, tz, from, to) : null;
  const useRollups = bucket !== "hour" && (buckets ?? []).every((b) => b.start % DAY_MS === 0);
  const limit = a.limit ?? ANALYTICS_MAX_ROWS;
  const split = a.attribution === "split";

  const order: RawBuilder<unknown>[] = [];
  if (a.order_by) order.push(sql`g.${q(a.order_by)} ${sql.raw(a.order === "asc" ? "ASC" : "DESC")}`);
  if (buckets) order.push(sql`g.b`);
  for (const d of dims) order.push(sql`g.${q(d)} COLLATE "C" ASC NULLS FIRST`);
  const orderSql = order.length ? sql` ORDER BY ${sql.join(order, sql`, `)}` : sql``;
  const statement = (inner: RawBuilder<unknown>) =>
    sql<Record<string, unknown>>`SELECT * FROM (${inner}) g${orderSql} LIMIT ${limit + 1}`;
  // Over the rollups: one named statement that checks the fold itself (executeFolded), as spendTotals
  // reads; over the raw logs (hour buckets): unnamed, its best plan depends on the values.
  const p: Plan = { dims, buckets, filters, from, to, split };
  const grouped = useRollups ? await rollupGrouped(db, scope, p) : null;
  const r = grouped
    ? await executeFolded(db, (guard) => statement(grouped(guard)))
    : await statement(await rawGrouped(db, scope, p)).execute(db);

  const truncated = r.rows.length > limit;
  const rows = r.rows.slice(0, limit).map((x) => {
    const out: AnalyticsRow = {};
    if (buckets && bucket) {
      const b = buckets[Number(x.b) - 1];
      if (!b) throw new Error(`row outside the buckets (${String(x.b)})`);
      out[bucket] = b.label;
      out.bucket_start = iso(b.start);
    }
    for (const d of dims) out[d] = (x[d] as string | null) ?? null;
    for (const m of ["requests", "spend", "prompt_tokens", "completion_tokens", "total_tokens"] as const)
      out[m] = Number(x[m]);
    return out;
  });
  return {
    start: iso(from),
    end: iso(to),
    timezone: tz,
    bucket,
    attribution: a.attribution,
    source: useRollups ? "rollups" : "raw_logs",
    truncated,
    rows,
  };
}

interface Plan {
  dims: AnalyticsDimension[];
  buckets: Bucket[] | null;
  filters: Partial<Record<SpendDim | "tag", (string | null)[]>>;
  from: number;
  to: number;
  split: boolean;
}

const MEASURES_SQL = (src: string) =>
  sql.raw(`coalesce(sum(${src}.requests), 0)::int8 AS requests, coalesce(sum(${src}.spend), 0)::float8 AS spend,
    coalesce(sum(${src}.prompt_tokens), 0)::float8 AS prompt_tokens, coalesce(sum(${src}.completion_tokens), 0)::float8 AS completion_tokens,
    coalesce(sum(${src}.total_tokens), 0)::float8 AS total_tokens`);

function groupBy(n: number): RawBuilder<unknown> {
  if (n === 0) return sql``;
  return sql.raw(` GROUP BY ${Array.from({ length: n }, (_, i) => i + 1).join(", ")}`);
}

/**
 * Whole UTC days through the rollup engine (grouped by UTC day when bucketed), then summed into the
 * buckets: every bucket starts on a UTC midnight, so a UTC day lies in exactly one bucket. `guard`:
 * the rollup statement's fold check (spendTotalsStatement), for executeFolded.
 */
async function rollupGrouped(
  db: Db,
  scope: Scope,
  p: Plan,
): Promise<(guard: boolean) => RawBuilder<unknown>> {
  const colOf = (d: AnalyticsDimension): RollupDim => (d === "tag" ? "tag" : DIM_COLUMN[d]);
  const inner = await spendTotalsStatement(db, scope, {
    window: { from: iso(p.from), to: iso(p.to) },
    dims: [...p.dims.map(colOf), ...(p.buckets ? (["day"] as const) : [])],
    filters: p.filters as RollupFilters & Record<string, FilterValue>,
    attribution: p.split ? "split" : "full",
  });
  const cols: RawBuilder<unknown>[] = [];
  if (p.buckets) {
    const days = p.buckets.map((b) => iso(b.start).slice(0, 10));
    cols.push(sql`width_bucket(s.day, ${days}::date[]) AS b`);
  }
  for (const d of p.dims) cols.push(sql`s.${q(colOf(d))} AS ${q(d)}`);
  return (guard) =>
    sql`SELECT ${sql.join([...cols, MEASURES_SQL("s")], sql`, `)} FROM (${inner(guard)}) s${groupBy(cols.length)}`;
}

/** The raw logs, bucketed by `width_bucket` over the bucket starts (one array parameter). */
async function rawGrouped(db: Db, scope: Scope, p: Plan): Promise<RawBuilder<unknown>> {
  const have = await spendLogColumns(db);
  const tag = p.dims.includes("tag") || p.filters.tag !== undefined;
  const col = (c: SpendDim) => (have.has(c) ? sql`l.${q(c)}` : sql`NULL::text`);
  const cols: RawBuilder<unknown>[] = [];
  if (p.buckets) {
    const starts = p.buckets.map((b) => iso(b.start));
    cols.push(
      have.startTimeHasZone
        ? sql`width_bucket(l."startTime", ${starts}::timestamptz[]) AS b`
        : sql`width_bucket(l."startTime", ${starts}::timestamp[]) AS b`,
    );
  }
  for (const d of p.dims)
    cols.push(d === "tag" ? sql`e.tag AS "tag"` : sql`${col(DIM_COLUMN[d])} AS ${q(d)}`);
  const spend = tag && p.split ? sql`coalesce(l.spend, 0) / e.n` : sql`coalesce(l.spend, 0)`;
  const measures = sql`count(*)::int8 AS requests, coalesce(sum(${spend}), 0)::float8 AS spend,
    coalesce(sum(coalesce(l.prompt_tokens, 0)), 0)::float8 AS prompt_tokens,
    coalesce(sum(coalesce(l.completion_tokens, 0)), 0)::float8 AS completion_tokens,
    coalesce(sum(coalesce(l.total_tokens, 0)), 0)::float8 AS total_tokens`;
  const conds: RawBuilder<unknown>[] = [
    sql`l."startTime" >= ${iso(p.from)}`,
    sql`l."startTime" < ${iso(p.to)}`,
  ];
  for (const [k, v] of Object.entries(p.filters)) {
    if (!v) continue;
    conds.push(filterSql(k === "tag" ? sql`e.tag` : col(k as SpendDim), planFilter(k, v)));
  }
  const user = scopeUserId(scope);
  if (user !== null) conds.push(sql`l."user" = ${user}`);
  return sql`SELECT ${sql.join([...cols, measures], sql`, `)}
    FROM "LiteLLM_SpendLogs" l${tag ? sql` CROSS JOIN LATERAL spendlens.request_tags(l.request_tags) e` : sql``}
    WHERE ${sql.join(conds, sql` AND `)}${groupBy(cols.length)}`;
}
