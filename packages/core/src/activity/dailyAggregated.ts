import { sql } from "kysely";
import type { Db } from "../db/connect.ts";
import { badRequest } from "../errors.ts";
import { ROUTE_DIM_TABLE, ROUTE_MEASURES, ROUTE_TABLE } from "../rollups/activityRouteRollup.ts";
import { executeFolded } from "../rollups/fold.ts";
import { narrowToUser, type Scope, scopeUserId } from "../scope.ts";
import { aggregatedCached, aggregatedDayCache, hasDayMarks, jsonParts } from "./aggregatedCache.ts";
import {
  type ActivityRow,
  activityRows,
  common,
  type DailyActivityQuery,
  type DimRow,
  definedKeys,
  entityMetadata,
  hasRouteRollups,
  type In,
  keyMetadata,
  liveEndDate,
  responseOf,
  routeRowOf,
  type SpendAnalyticsPaginatedResponse,
  shapeDailyActivity,
  type userDailyActivityAggregatedInput,
} from "./dailyActivity.ts";

/**
 * `/user/daily/activity/aggregated` (LiteLLM's aggregated Usage route): the whole range folded into
 * per-date breakdowns, api_keys limited to the top keys by spend. Split from dailyActivity.ts, whose
 * inputs, shapes and paginated reads it shares.
 */

/** LiteLLM's USAGE_TOP_API_KEYS_LIMIT: the aggregated route lists the keys with the most spend only. */
export const AGGREGATED_API_KEY_LIMIT = 100;

/** Top keys by spend, then key (code-point order, as `COLLATE "C"` sorts). */
const byTopSpend = (a: [string, number], b: [string, number]) =>
  b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

/**
 * The aggregated route without filters, from migration 0012's narrow rollups: per (day, dimension) sums
 * for the days and every key-free breakdown (hundreds of rows for 30 days), the top keys from their
 * per-(day, key) sums, and the route rows of those keys only for the per-key breakdowns. One statement
 * (one snapshot); null when a day in the range is dirty or the tables are missing. Fresh as every rollup
 * reader (`executeFolded`): on a Postgres primary the statement checks itself that no log waits for a
 * fold (on the `dirty` CTE, which every branch reads; one round trip); elsewhere the handle folds first.
 */
async function aggregatedFromDims(
  db: Db,
  q: DailyActivityQuery,
  limit: number,
): Promise<SpendAnalyticsPaginatedResponse | null> {
  if (!(await hasRouteRollups(db))) return null;
  const inRange = (alias: string) =>
    sql`${sql.ref(`${alias}.day`)} BETWEEN ${q.start_date}::date AND ${q.end_date}::date`;
  const nulls = (n: number) => sql.join(Array.from({ length: n }, () => sql`NULL::text`));
  const namedNulls = sql.join(["v3", "v4", "v5", "v6", "v7"].map((c) => sql`NULL::text AS ${sql.id(c)}`));
  const measures = (alias: string) =>
    sql.join(ROUTE_MEASURES.map((m) => sql`${sql.ref(`${alias}.${m}`)}::float8 AS ${sql.id(m)}`));
  const zeros = sql.join(ROUTE_MEASURES.map((m) => sql`0::float8 AS ${sql.id(m)}`));
  const dimTable = sql.table(`spendlens.${ROUTE_DIM_TABLE}`);
  const routeTable = sql.table(`spendlens.${ROUTE_TABLE}`);
  const r = await executeFolded(
    db,
    (guard) => sql<DimRow>`WITH dirty AS MATERIALIZED (SELECT EXISTS (
        SELECT 1 FROM spendlens.rollup_days rd WHERE rd.dirty_at IS NOT NULL AND ${inRange("rd")}) AS dirty${
          guard ? sql` WHERE spendlens.logs_folded()` : sql``
        }),
      keys AS MATERIALIZED (SELECT coalesce(k.value, '') AS api_key, sum(k.spend) AS spend
        FROM ${dimTable} k, dirty d WHERE NOT d.dirty AND k.dim = 'k' AND ${inRange("k")} GROUP BY 1),
      top AS MATERIALIZED (SELECT coalesce(array_agg(x.api_key), '{}') AS ks FROM (SELECT api_key FROM keys
        ORDER BY spend DESC, api_key COLLATE "C" LIMIT ${limit}) x)
    SELECT 'h' AS t, NULL::text AS day, d.dirty::text AS v1, (SELECT count(*) FROM keys)::text AS v2, ${namedNulls}, ${zeros}
      FROM dirty d
    UNION ALL
    SELECT x.dim::text, x.day::text, x.value, ${nulls(6)}, ${measures("x")}
      FROM ${dimTable} x, dirty d
      WHERE NOT d.dirty AND x.dim = ANY('{d,m,g,p,x,e,n}'::"char"[]) AND ${inRange("x")}
    UNION ALL
    SELECT 'r', r.day::text, r.entity, r.api_key, r.model, r.model_group, r.custom_llm_provider,
        r.mcp_namespaced_tool_name, r.call_type, ${measures("r")}
      FROM ${routeTable} r, top, dirty d
      WHERE NOT d.dirty AND r.kind = 'u' AND ${inRange("r")}
        AND (r.api_key = ANY(top.ks) OR (r.api_key IS NULL AND '' = ANY(top.ks)))`,
  );
  const head = r.rows[0];
  if (!head || head.v1 === "true") return null;
  const keyRows: ActivityRow[] = [];
  const dimRows: DimRow[] = [];
  const top = new Set<string>();
  for (const x of r.rows) {
    if (x.t === "r") {
      keyRows.push(routeRowOf(x));
      top.add(x.v2 ?? "");
    } else if (x.t !== "h") dimRows.push(x);
  }
  const [keys, ents] = await Promise.all([
    keyMetadata(db, definedKeys([...top])),
    entityMetadata(db, "user", definedKeys(dimRows.filter((x) => x.t === "n").map((x) => x.v1))),
  ]);
  // Every metric of a day and of its key-free buckets from the dimension sums; the top keys' buckets
  // from their rows (shapeDailyActivity adds those rows to api_key_breakdown and api_keys only).
  const { results, totals } = shapeDailyActivity(keyRows, keys, ents, undefined, dimRows);
  return responseOf(
    results,
    totals,
    { page: 1, total_pages: 1, has_more: false },
    { api_key_limit: limit, total_api_keys: Number(head.v2) },
  );
}

/** The answer's JSON bytes in pieces, as the cached path makes them (the days newest first, then metadata). */
const wholeJson = (r: SpendAnalyticsPaginatedResponse): readonly Uint8Array[] =>
  jsonParts(
    r.results.map((d) => Buffer.from(JSON.stringify(d), "utf8")),
    `],"metadata":${JSON.stringify(r.metadata)}}`,
  ).parts;

/**
 * `/user/daily/activity/aggregated` as JSON text: the whole range folded into per-date breakdowns, as
 * LiteLLM's GROUPING SETS query does: every day's and every bucket's totals, with api_keys and each
 * bucket's api_key_breakdown limited to the `limit` keys with the most spend in the range (LiteLLM's top
 * 100); metadata carries api_key_limit and total_api_keys as LiteLLM's does. Without filters (an admin's
 * call, the Usage page's), the days come from the per-day cache (aggregatedCache.ts) when it is on.
 */
export async function dailyActivityAggregatedJson(
  db: Db,
  scope: Scope,
  q: DailyActivityQuery,
  limit = AGGREGATED_API_KEY_LIMIT,
  /** `cache: false` reads every day; `whole: false` skips the whole-answer cache (tests compare all three). */
  opts: { cache?: boolean; whole?: boolean } = {},
): Promise<readonly Uint8Array[]> {
  if (q.start_date > q.end_date) throw badRequest("end_date", "must not be before start_date");
  if (scopeUserId(scope) === null && !q.model && !q.api_key) {
    const cache = opts.cache === false ? null : aggregatedDayCache(db);
    if (cache && (await hasDayMarks(db))) {
      const cached = await aggregatedCached(db, cache, q, limit, opts);
      if (cached) return cached;
    } else {
      const fast = await aggregatedFromDims(db, q, limit);
      if (fast) return wholeJson(fast);
    }
  }
  return wholeJson(await aggregatedFromRows(db, scope, q, limit));
}

/** The same answer as a value. */
export async function dailyActivityAggregated(
  db: Db,
  scope: Scope,
  q: DailyActivityQuery,
  limit = AGGREGATED_API_KEY_LIMIT,
  opts: { cache?: boolean; whole?: boolean } = {},
): Promise<SpendAnalyticsPaginatedResponse> {
  const parts = await dailyActivityAggregatedJson(db, scope, q, limit, opts);
  return JSON.parse(Buffer.concat(parts).toString("utf8")) as SpendAnalyticsPaginatedResponse;
}

/** Filtered or scoped calls (and dirty days): LiteLLM's daily-table rows of the range, folded here. */
async function aggregatedFromRows(
  db: Db,
  scope: Scope,
  q: DailyActivityQuery,
  limit: number,
): Promise<SpendAnalyticsPaginatedResponse> {
  const { rows } = await activityRows(db, scope, "user", { ...q, page: null });
  const spend = new Map<string, number>();
  for (const x of rows) spend.set(x.api_key ?? "", (spend.get(x.api_key ?? "") ?? 0) + x.spend);
  const top = new Set(
    [...spend]
      .sort(byTopSpend)
      .slice(0, limit)
      .map(([k]) => k),
  );
  const [keys, ents] = await Promise.all([
    keyMetadata(db, definedKeys([...top])),
    entityMetadata(db, "user", definedKeys(rows.map((r) => r.entity))),
  ]);
  const { results, totals } = shapeDailyActivity(rows, keys, ents, (k) => top.has(k));
  return responseOf(
    results,
    totals,
    { page: 1, total_pages: 1, has_more: false },
    { api_key_limit: limit, total_api_keys: spend.size },
  );
}

const aggregatedInput = (i: In<typeof userDailyActivityAggregatedInput>, now: Date): DailyActivityQuery => ({
  ...common(i),
  end_date: liveEndDate(i.end_date, i.timezone, i.include_current_utc_day, now),
  page: null,
  page_size: 1,
});

/** `now` is the clock `include_current_utc_day` reads (a parameter for tests). */
export const userDailyActivityAggregated = async (
  db: Db,
  scope: Scope,
  i: In<typeof userDailyActivityAggregatedInput>,
  now: Date = new Date(),
) => dailyActivityAggregated(db, narrowToUser(scope, i.user_id), aggregatedInput(i, now));

/** The same route as JSON bytes, in pieces (REST writes them as they are: a kept answer is one buffer). */
export const userDailyActivityAggregatedJson = async (
  db: Db,
  scope: Scope,
  i: In<typeof userDailyActivityAggregatedInput>,
  now: Date = new Date(),
) => dailyActivityAggregatedJson(db, narrowToUser(scope, i.user_id), aggregatedInput(i, now));
