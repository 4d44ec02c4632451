import { type Selectable, type SelectQueryBuilder, sql } from "kysely";
import { normalizeKeyFilter } from "../auth/hash.ts";
import type { Db } from "../db/connect.ts";
import { executeNamed } from "../db/named.ts";
import type { Database, SpendLogsTable } from "../db/schema.ts";
import { schemaFacts } from "../db/schemaFacts.ts";
import { executeCheckedOnly } from "../rollups/fold.ts";
import {
  plan,
  type RollupFilters,
  render,
  type SpendQuery,
  type SpendRow,
  spendTotals,
} from "../rollups/query.ts";
import { type Scope, scopeUserId } from "../scope.ts";
import { countEndUserLogs } from "./endUserCount.ts";

/**
 * The one place spend-log rows are listed. /spend/logs/ui and the list modes of /spend/logs both go
 * through `querySpendLogs` and `countSpendLogs`, so keyset pagination and indexes can be added here
 * without touching the endpoints.
 */

/** A LiteLLM_SpendLogs row as stored (a real LiteLLM database has more columns; they come back too). */
export type SpendLogRow = Selectable<SpendLogsTable> & Record<string, unknown>;

/** Filters on spend logs. Every field is optional; `api_key` must already be hashed. */
export interface SpendLogFilter {
  api_key?: string | undefined;
  request_id?: string | undefined;
  team_id?: string | undefined;
  min_spend?: number | undefined;
  max_spend?: number | undefined;
  /** "startTime" >= from (ISO). */
  from?: string | undefined;
  /** "startTime" <= toInclusive (ISO), the original's logs/ui end bound. */
  toInclusive?: string | undefined;
  /** "startTime" < toExclusive (ISO): whole days. */
  toExclusive?: string | undefined;
  /** `success`: status is not 'failure' (NULL included, as older rows have none); `failure`; else that status. */
  status?: string | undefined;
  model?: string | undefined;
  model_id?: string | undefined;
  end_user?: string | undefined;
  /** metadata.user_api_key_alias, where LiteLLM's logger writes the key's alias. */
  key_alias?: string | undefined;
  /** metadata.error_information.error_code, where LiteLLM's logger writes a failure's code. */
  error_code?: string | undefined;
  /**
   * A request tag: one of the elements of the log's request_tags array (compared as text, as the tag
   * analytics read them; a non-array is no tags).
   */
  tag?: string | undefined;
}

/** A log request's filter fields, as the inputs name them (the original's query names). */
export interface LogFilterInput {
  api_key?: string | undefined;
  request_id?: string | undefined;
  team_id?: string | undefined;
  min_spend?: number | undefined;
  max_spend?: number | undefined;
  start_date?: string | undefined;
  end_date?: string | undefined;
  status_filter?: string | undefined;
  model?: string | undefined;
  model_id?: string | undefined;
  key_alias?: string | undefined;
  end_user?: string | undefined;
  error_code?: string | undefined;
  tag?: string | undefined;
}

/**
 * The filter of a log page's input (/spend/logs/ui, /spend/logs/stream): a raw `sk-…` key hashed, the
 * window's ends (ISO instants) both inclusive.
 */
export function logFilterOf(input: LogFilterInput): SpendLogFilter {
  return {
    api_key: input.api_key !== undefined ? normalizeKeyFilter(input.api_key) : undefined,
    request_id: input.request_id,
    team_id: input.team_id,
    min_spend: input.min_spend,
    max_spend: input.max_spend,
    from: input.start_date,
    toInclusive: input.end_date,
    status: input.status_filter,
    model: input.model,
    model_id: input.model_id,
    key_alias: input.key_alias,
    end_user: input.end_user,
    error_code: input.error_code,
    tag: input.tag,
  };
}

/** Columns /spend/logs/ui may sort by (LiteLLM's `sort_by`); anything else is a 400. */
export const SPEND_LOG_SORT_COLUMNS = [
  "startTime",
  "endTime",
  "spend",
  "total_tokens",
  "prompt_tokens",
  "completion_tokens",
  "model",
] as const;
export type SpendLogSortColumn = (typeof SPEND_LOG_SORT_COLUMNS)[number];

/** Whether a filter only uses what the rollups can count (else the logs are counted directly). */
const onlyRollupFilters = (f: SpendLogFilter) =>
  f.request_id === undefined &&
  f.min_spend === undefined &&
  f.max_spend === undefined &&
  f.status === undefined &&
  f.key_alias === undefined &&
  f.error_code === undefined &&
  f.tag === undefined &&
  f.toExclusive === undefined;

type LogsQuery<O> = SelectQueryBuilder<Database, "LiteLLM_SpendLogs", O>;

/** Applies the caller's scope and the filters. Every value is a bound parameter. */
export function whereSpendLogs<O>(qb: LogsQuery<O>, scope: Scope, f: SpendLogFilter): LogsQuery<O> {
  const user = scopeUserId(scope);
  return qb
    .$if(user !== null, (q) => q.where("user", "=", user))
    .$if(f.api_key !== undefined, (q) => q.where("api_key", "=", f.api_key!))
    .$if(f.request_id !== undefined, (q) => q.where("request_id", "=", f.request_id!))
    .$if(f.team_id !== undefined, (q) => q.where("team_id", "=", f.team_id!))
    .$if(f.min_spend !== undefined, (q) => q.where("spend", ">=", f.min_spend!))
    .$if(f.max_spend !== undefined, (q) => q.where("spend", "<=", f.max_spend!))
    .$if(f.from !== undefined, (q) => q.where("startTime", ">=", f.from!))
    .$if(f.toInclusive !== undefined, (q) => q.where("startTime", "<=", f.toInclusive!))
    .$if(f.toExclusive !== undefined, (q) => q.where("startTime", "<", f.toExclusive!))
    .$if(f.model !== undefined, (q) => q.where("model", "=", f.model!))
    .$if(f.model_id !== undefined, (q) => q.where("model_id", "=", f.model_id!))
    .$if(f.end_user !== undefined, (q) => q.where("end_user", "=", f.end_user!))
    .$if(f.status === "success", (q) =>
      q.where((eb) => eb.or([eb("status", "is", null), eb("status", "<>", "failure")])),
    )
    .$if(f.status !== undefined && f.status !== "success", (q) => q.where("status", "=", f.status!))
    .$if(f.key_alias !== undefined, (q) =>
      q.where(sql<string>`metadata ->> 'user_api_key_alias'`, "=", f.key_alias!),
    )
    .$if(f.error_code !== undefined, (q) =>
      q.where(sql<string>`metadata #>> '{error_information,error_code}'`, "=", f.error_code!),
    )
    .$if(f.tag !== undefined, (q) =>
      q.where(
        sql<boolean>`EXISTS (SELECT 1 FROM jsonb_array_elements_text(CASE WHEN jsonb_typeof(request_tags) = 'array' THEN request_tags ELSE '[]'::jsonb END) AS rt(e) WHERE rt.e = ${f.tag!})`,
      ),
    );
}

/**
 * One page of logs, newest first ("startTime" DESC, request_id DESC, so equal times keep a stable
 * order). Only `limit` rows are ever read from the database.
 */
export async function querySpendLogs(
  db: Db,
  scope: Scope,
  filter: SpendLogFilter,
  page: { limit: number; offset: number; sortBy?: SpendLogSortColumn; sortOrder?: "asc" | "desc" },
): Promise<SpendLogRow[]> {
  const by = page.sortBy ?? "startTime";
  const dir = page.sortOrder ?? "desc";
  if (by === "model" && filter.model === undefined && (await schemaFacts(db)).modelTimeIndex)
    return queryByModel(db, scope, filter, page, dir);
  const rows = await whereSpendLogs(db.selectFrom("LiteLLM_SpendLogs").selectAll(), scope, filter)
    .orderBy(by, dir)
    .$if(by !== "startTime", (q) => q.orderBy("startTime", dir))
    .orderBy("request_id", dir)
    .limit(page.limit)
    .offset(page.offset)
    .execute();
  return rows as SpendLogRow[];
}

/**
 * A page in model order (`sort_by=model`): model, then "startTime", then request_id, all in `dir`. Only
 * where the schema facts say the log table has 0013's (model, "startTime") index and a NOT NULL model
 * (standalone mode), so every log has a model to be listed under.
 *
 * The plain ORDER BY reads that index from the first model on, with the window's bounds checked on every
 * entry: every log of the first models before the window is read and dropped (at 10M logs over 90 days,
 * ~470,000 index entries for a 30-day page). Here the models are enumerated first, one index probe each
 * (a loose index scan over every log's model, so none is missed, folded or not), and each model's logs
 * are read as their own range (model = m and the window), at most offset + limit of them, lazily in
 * model order: a page reads its own rows, not the window's history. The rows and their order are exactly
 * the plain query's.
 */
async function queryByModel(
  db: Db,
  scope: Scope,
  filter: SpendLogFilter,
  page: { limit: number; offset: number },
  dir: "asc" | "desc",
): Promise<SpendLogRow[]> {
  const order = sql.raw(dir === "asc" ? "ASC" : "DESC");
  const perModel = whereSpendLogs(db.selectFrom("LiteLLM_SpendLogs").selectAll(), scope, filter)
    .where("model", "=", sql<string>`models.sort_model`)
    .orderBy("startTime", dir)
    .orderBy("request_id", dir)
    .limit(page.limit + page.offset);
  const r = await sql<SpendLogRow>`WITH RECURSIVE model_list(sort_model) AS (
      (SELECT model FROM "LiteLLM_SpendLogs" ORDER BY model LIMIT 1)
      UNION ALL
      SELECT (SELECT l.model FROM "LiteLLM_SpendLogs" AS l WHERE l.model > model_list.sort_model
              ORDER BY l.model LIMIT 1)
      FROM model_list WHERE model_list.sort_model IS NOT NULL
    )
    SELECT p.* FROM (SELECT sort_model FROM model_list WHERE sort_model IS NOT NULL
                     ORDER BY sort_model ${order}) AS models
    CROSS JOIN LATERAL (${perModel}) AS p
    ORDER BY models.sort_model ${order}, p."startTime" ${order}, p.request_id ${order}
    LIMIT ${page.limit} OFFSET ${page.offset}`.execute(db);
  return r.rows;
}

/** Whether a filter uses the window, a key and a team only (each with a ("…", "startTime") index). */
const timeKeyTeamOnly = (f: SpendLogFilter) =>
  Object.entries(f).every(
    ([k, v]) => v === undefined || ["from", "toInclusive", "toExclusive", "api_key", "team_id"].includes(k),
  );

/**
 * Whether a filter is one end user over a bounded window and nothing else (the caller's scope aside):
 * the count the end-user rollups answer (`countEndUserLogs`).
 */
const onlyEndUser = (
  f: SpendLogFilter,
): f is SpendLogFilter & { end_user: string; from: string; toInclusive: string } =>
  f.end_user !== undefined &&
  f.from !== undefined &&
  f.toInclusive !== undefined &&
  onlyRollupFilters(f) &&
  f.api_key === undefined &&
  f.team_id === undefined &&
  f.model === undefined &&
  f.model_id === undefined;

/** The exclusive end of `"startTime" <= t` when times keep at most milliseconds: t + 1 ms. */
const afterInclusive = (t: string) => new Date(Date.parse(t) + 1).toISOString();

/** Whether "startTime" keeps at most milliseconds, so that `<= t` is `< t + 1 ms` (schema facts). */
async function millisecondTimes(db: Db): Promise<boolean> {
  return (await schemaFacts(db)).startTimeMillis;
}

/**
 * Up to this many matching logs are counted directly (about the cost of the rollup statement; 10,000
 * cost ~2.5× more); beyond it the count comes from the rollups.
 */
export const COUNT_SCAN_LIMIT = 1000;

/**
 * How many logs match (the same scope and filters as `querySpendLogs`).
 *
 * Filtered by time, key, team and the caller's user only (the usual /spend/logs/ui page): the logs are
 * counted directly up to `scanLimit` (default COUNT_SCAN_LIMIT: cheap, and independent of the rollups);
 * a larger total comes from the rollups (rollups/query.ts): whole days from key_daily / model_daily, the
 * partial days at the ends raw or as their whole day minus the rest of it, and days that are dirty or
 * lost raw logs to retention (`matchRaw`) from the raw logs, all in one statement: the same number as a
 * COUNT(*) over the logs, without reading a month of them. One end user alone (an admin's count) goes
 * straight to the end-user rollups (`countEndUserLogs`), without the capped raw count. With request_id
 * or a spend bound no rollup can tell, so the logs are counted.
 */
export async function countSpendLogs(
  db: Db,
  scope: Scope,
  filter: SpendLogFilter,
  opts: { scanLimit?: number } = {},
): Promise<number> {
  if (filter.status === "success") {
    // Success is every log that is not a failure (NULL status included). When the other filters are
    // ones the rollups count: all matching logs (rollups) minus the failures (few, read through the
    // partial index of migration 0013 in standalone mode). Otherwise one COUNT, which reads the same
    // logs either way (the other filter's index in standalone mode).
    const { status: _success, ...rest } = filter;
    if (onlyRollupFilters(rest) && (await millisecondTimes(db))) {
      const [all, failed] = await Promise.all([
        countSpendLogs(db, scope, rest, opts),
        countMatching(db, scope, { ...rest, status: "failure" }),
      ]);
      return all - failed;
    }
    return countMatching(db, scope, filter);
  }
  const rollupable = onlyRollupFilters(filter) && (await millisecondTimes(db));
  // One end user, an admin's count: straight from end_user_daily / end_user_hourly and ≤ 30 minutes of
  // raw logs per cut, with no capped count of the raw logs first: Postgres answers `end_user = X` in a
  // window through the end_user index as a bitmap, built from every log of that end user (of all time)
  // before the first row comes out, however small the cap.
  if (rollupable && onlyEndUser(filter) && scopeUserId(scope) === null)
    return countEndUserLogs(db, filter.end_user, filter.from, afterInclusive(filter.toInclusive));
  if (rollupable) {
    const limit = opts.scanLimit ?? COUNT_SCAN_LIMIT;
    if (limit > 0) {
      const first = whereSpendLogs(
        db.selectFrom("LiteLLM_SpendLogs").select(sql<number>`1`.as("one")),
        scope,
        filter,
      ).limit(limit + 1);
      const counted = db.selectFrom(first.as("s")).select(sql<number>`count(*)::int`.as("n"));
      // Filtered by time, key and team only, in standalone mode: each has a ("…", "startTime") index, so
      // the capped count reads one index range whatever the values, and a named statement (parsed and
      // planned once per connection, db/named.ts) gives the same plan without planning it over every
      // partition on every call. Any other filter's best plan depends on how common the value is.
      const facts = await schemaFacts(db);
      if (timeKeyTeamOnly(filter) && facts.modelTimeIndex) {
        // The rollups' count rides in the same statement, run only when the capped count is over the
        // cap (an InitPlan in the CASE's other branch is evaluated when first needed, so a small count
        // reads no rollup and checks no fold): one round trip. Where that statement cannot answer
        // (executeCheckedOnly: PGlite, a standby, logs waiting for a fold), the two steps below.
        const p = plan({ kind: "spend", scope, query: rollupCountQuery(filter) }, facts);
        const one = await executeCheckedOnly(
          db,
          () => sql<{ n: number }>`SELECT CASE WHEN c.n <= ${limit} THEN c.n::int8
              ELSE (SELECT t.requests FROM (${render<SpendRow>(p, { guard: true })}) t) END AS n
            FROM (${counted}) c`,
        );
        if (one) return one.rows[0]?.n ?? 0;
        const r = (await executeNamed(db, counted.compile())).rows[0]!;
        if (r.n <= limit) return r.n;
      } else {
        const r = await counted.executeTakeFirstOrThrow();
        if (r.n <= limit) return r.n;
      }
    }
    const [row] = await spendTotals(db, scope, rollupCountQuery(filter));
    return row?.requests ?? 0;
  }
  return countMatching(db, scope, filter);
}

/** The rollups' count of a filter's logs (countSpendLogs, past the capped count). */
function rollupCountQuery(filter: SpendLogFilter): SpendQuery {
  const to = filter.toInclusive === undefined ? null : afterInclusive(filter.toInclusive);
  const filters: RollupFilters = {};
  if (filter.api_key !== undefined) filters.api_key = filter.api_key;
  if (filter.team_id !== undefined) filters.team_id = filter.team_id;
  if (filter.model !== undefined) filters.model = filter.model;
  if (filter.model_id !== undefined) filters.model_id = filter.model_id;
  if (filter.end_user !== undefined) filters.end_user = filter.end_user;
  return { window: { from: filter.from ?? null, to }, filters, matchRaw: true };
}

/**
 * COUNT(*) of the matching logs. In standalone mode the filters no rollup counts have indexes of their
 * own (migration 0013): failures and error codes partial indexes, key_alias an expression index, so
 * the count reads only the matching logs of the window.
 */
async function countMatching(db: Db, scope: Scope, filter: SpendLogFilter): Promise<number> {
  const r = await whereSpendLogs(
    db.selectFrom("LiteLLM_SpendLogs").select(sql<number>`count(*)::int`.as("n")),
    scope,
    filter,
  ).executeTakeFirstOrThrow();
  return r.n;
}
