import { CompiledQuery, type RawBuilder, sql } from "kysely";
import { z } from "zod";
import { normalizeKeyFilter } from "../auth/hash.ts";
import type { Db } from "../db/connect.ts";
import { executeNamed } from "../db/named.ts";
import { schemaFacts } from "../db/schemaFacts.ts";
import { badRequest } from "../errors.ts";
import {
  ACTIVITY_DIMS,
  ACTIVITY_MEASURES,
  ACTIVITY_SOURCE_COLUMNS,
  ACTIVITY_TABLE,
  ACTIVITY_TAG_DIMS,
  ACTIVITY_TAG_TABLE,
  activityExprs,
} from "../rollups/activityRollup.ts";
import {
  ROUTE_KIND,
  ROUTE_MEASURES,
  ROUTE_ORDER,
  ROUTE_ROWS_TABLE,
  ROUTE_TABLE,
  type RouteMeasure,
} from "../rollups/activityRouteRollup.ts";
import { foldBeforeRead, LOGS_WAITING, readFolded } from "../rollups/fold.ts";
import { narrowToUser, type Scope, scopeUserId } from "../scope.ts";
import { checkDayRange, zDay, zInt } from "../validation.ts";
import { dailyPage } from "./pageCache.ts";

/**
 * LiteLLM's daily-activity routes (`/{user,team,tag,organization,customer,agent}/daily/activity` and
 * `/user/daily/activity/aggregated`), answered from spendlens's activity rollups (migration 0009,
 * rollups/activityRollup.ts) over "LiteLLM_SpendLogs": exact and fresh, dirty days read from the raw logs
 * in the same statement. Response shape is LiteLLM's `SpendAnalyticsPaginatedResponse`.
 *
 * Pagination is LiteLLM's: a page is `page_size` of the rows LiteLLM's Daily*Spend table would hold
 * (one per date, entity, api_key, model, model_group, provider, MCP tool and endpoint), newest date
 * first, folded into per-date results; `metadata` totals cover the page, as LiteLLM's do.
 */

export type ActivityEntity = "user" | "team" | "organization" | "customer" | "agent" | "tag";

/** The rollup column each route's entity is. */
const ENTITY_COLUMN: Record<ActivityEntity, string> = {
  user: "user",
  team: "team_id",
  organization: "organization_id",
  customer: "end_user",
  agent: "agent_id",
  tag: "tag",
};

// ---------- inputs ----------

/** A comma-separated id list as LiteLLM's routes take it (`team_ids=a,b`). */
export const zIdList = z
  .string()
  .max(20_000, "must be at most 20000 characters")
  .transform((s) =>
    s
      .split(",")
      .map((x) => x.trim())
      .filter((x) => x !== ""),
  );

const baseShape = {
  start_date: zDay,
  end_date: zDay,
  model: z.string().max(512, "must be at most 512 characters").optional(),
  api_key: z.string().max(512, "must be at most 512 characters").optional(),
  /**
   * The browser's offset in minutes (JS getTimezoneOffset: UTC minus local, positive west of UTC).
   * Dates stay UTC days as in LiteLLM's own tables; on the /user routes it moves the live end of the
   * range with `include_current_utc_day` (liveEndDate), as LiteLLM does.
   */
  timezone: z.coerce
    .number({ error: "must be a whole number of minutes" })
    .int("must be a whole number of minutes")
    .min(-1440, "must be at least -1440")
    .max(1440, "must be at most 1440")
    .optional(),
  page: zInt(1, 1_000_000).default(1),
};

const pageSize = (dflt: number) => zInt(1, 1000).default(dflt);

/** A boolean as FastAPI reads one from a query string (LiteLLM's `include_current_utc_day: bool`). */
const zQueryBool = z.preprocess(
  (v) => {
    if (typeof v !== "string") return v;
    const s = v.toLowerCase();
    return ["true", "1", "yes", "on"].includes(s)
      ? true
      : ["false", "0", "no", "off"].includes(s)
        ? false
        : v;
  },
  z.boolean({ error: "must be true or false" }),
);

/**
 * Only the /user routes take it, as in LiteLLM (its team, tag, organization, customer and agent routes
 * pass `include_current_utc_day=False`).
 */
const userOnlyShape = { include_current_utc_day: zQueryBool.optional() };

/**
 * LiteLLM's `_adjust_dates_for_timezone`: the local date range is the UTC bucket range (historical dates
 * pass through), except that a range reaching the caller's current local day is extended to today's UTC
 * day when `include_current_utc_day` is set with a `timezone`: a caller west of UTC whose local day has
 * not ended sees what was spent since UTC midnight. `timezone` alone changes nothing.
 */
export function liveEndDate(
  endDate: string,
  timezone: number | undefined,
  includeCurrentUtcDay: boolean | undefined,
  now: Date,
): string {
  if (!includeCurrentUtcDay || timezone === undefined) return endDate;
  const callerLocalToday = new Date(now.getTime() - timezone * 60_000).toISOString().slice(0, 10);
  if (endDate < callerLocalToday) return endDate;
  const utcToday = now.toISOString().slice(0, 10);
  return endDate > utcToday ? endDate : utcToday;
}

export const userDailyActivityInput = z
  .object({
    ...baseShape,
    ...userOnlyShape,
    user_id: z.string().max(512).optional(),
    page_size: pageSize(50),
  })
  .superRefine(checkDayRange);
export const userDailyActivityAggregatedInput = z
  .object({ ...baseShape, ...userOnlyShape, user_id: z.string().max(512).optional() })
  .superRefine(checkDayRange);
/**
 * The input and the function of one entity kind's paginated route (team, organization, customer,
 * agent, tag): `{...baseShape, <ids>, exclude_<ids>, page_size}`, the ids filtering the entity's column.
 */
function entityRoute<const K extends string>(entity: ActivityEntity, ids: K) {
  const exclude = `exclude_${ids}` as const;
  const lists = { [ids]: zIdList.optional(), [exclude]: zIdList.optional() } as Record<
    K | typeof exclude,
    ReturnType<typeof zIdList.optional>
  >;
  const input = z
    .object({ ...baseShape, ...lists, page_size: pageSize(10) })
    .superRefine(checkDayRange as (v: unknown, ctx: z.RefinementCtx) => void);
  type Lists = Record<K | typeof exclude, string[] | undefined>;
  const query = (raw: z.output<typeof input>): DailyActivityQuery => {
    const i = raw as unknown as Parameters<typeof common>[0] & { page_size: number };
    const l = raw as unknown as Lists;
    return { ...common(i), page_size: i.page_size, entity_ids: l[ids], exclude_entity_ids: l[exclude] };
  };
  const run = (db: Db, scope: Scope, raw: z.output<typeof input>) =>
    dailyActivity(db, scope, entity, query(raw));
  /** The same answer as its JSON bytes (the REST route: a cached page is sent as it is). */
  const json = (db: Db, scope: Scope, raw: z.output<typeof input>) =>
    dailyActivityJson(db, scope, entity, query(raw));
  return [input, run, json] as const;
}

export const [teamDailyActivityInput, teamDailyActivity, teamDailyActivityJson] = entityRoute(
  "team",
  "team_ids",
);
export const [organizationDailyActivityInput, organizationDailyActivity, organizationDailyActivityJson] =
  entityRoute("organization", "organization_ids");
export const [customerDailyActivityInput, customerDailyActivity, customerDailyActivityJson] = entityRoute(
  "customer",
  "end_user_ids",
);
export const [agentDailyActivityInput, agentDailyActivity, agentDailyActivityJson] = entityRoute(
  "agent",
  "agent_ids",
);
export const [tagDailyActivityInput, tagDailyActivity, tagDailyActivityJson] = entityRoute("tag", "tags");

export interface DailyActivityQuery {
  start_date: string;
  end_date: string;
  model?: string | undefined;
  api_key?: string | undefined;
  /** Only these entities (an empty list matches nothing, as in LiteLLM). */
  entity_ids?: string[] | undefined;
  exclude_entity_ids?: string[] | undefined;
  /** null: every row (the aggregated route). */
  page: number | null;
  page_size: number;
}

// ---------- outputs ----------

export interface SpendMetrics {
  spend: number;
  flat_cost: number;
  prompt_tokens: number;
  completion_tokens: number;
  cache_read_input_tokens: number;
  cache_creation_input_tokens: number;
  compression_saved_tokens: number;
  compression_savings_spend: number;
  prompt_caching_savings_spend: number;
  gateway_injected_caching_savings_spend: number;
  autorouter_savings_spend: number;
  total_tokens: number;
  successful_requests: number;
  failed_requests: number;
  api_requests: number;
  total_response_time_ms: number;
  timed_requests: number;
}

export interface KeyMetadata {
  key_alias: string | null;
  team_id: string | null;
  user_id: string | null;
  user_email: string | null;
  key_exists: boolean;
}

export interface KeyMetricWithMetadata {
  metrics: SpendMetrics;
  metadata: KeyMetadata;
}

export interface MetricWithMetadata {
  metrics: SpendMetrics;
  metadata: Record<string, unknown>;
  api_key_breakdown: Record<string, KeyMetricWithMetadata>;
}

export interface BreakdownMetrics {
  mcp_servers: Record<string, MetricWithMetadata>;
  models: Record<string, MetricWithMetadata>;
  model_groups: Record<string, MetricWithMetadata>;
  providers: Record<string, MetricWithMetadata>;
  endpoints: Record<string, MetricWithMetadata>;
  api_keys: Record<string, KeyMetricWithMetadata>;
  entities: Record<string, MetricWithMetadata>;
}

export interface DailySpendData {
  date: string;
  metrics: SpendMetrics;
  breakdown: BreakdownMetrics;
}

export interface DailySpendMetadata {
  total_spend: number;
  total_flat_cost: number;
  total_prompt_tokens: number;
  total_completion_tokens: number;
  total_tokens: number;
  total_api_requests: number;
  total_successful_requests: number;
  total_failed_requests: number;
  total_cache_read_input_tokens: number;
  total_cache_creation_input_tokens: number;
  total_compression_saved_tokens: number;
  total_compression_savings_spend: number;
  total_prompt_caching_savings_spend: number;
  total_gateway_injected_caching_savings_spend: number;
  total_autorouter_savings_spend: number;
  total_response_time_ms: number;
  total_timed_requests: number;
  page: number;
  total_pages: number;
  has_more: boolean;
  /** The aggregated route only: how many keys api_keys lists at most, and how many the range has. */
  api_key_limit?: number;
  total_api_keys?: number;
}

export interface SpendAnalyticsPaginatedResponse {
  results: DailySpendData[];
  metadata: DailySpendMetadata;
}

export const emptyMetrics = (): SpendMetrics => ({
  spend: 0,
  flat_cost: 0,
  prompt_tokens: 0,
  completion_tokens: 0,
  cache_read_input_tokens: 0,
  cache_creation_input_tokens: 0,
  compression_saved_tokens: 0,
  compression_savings_spend: 0,
  prompt_caching_savings_spend: 0,
  gateway_injected_caching_savings_spend: 0,
  autorouter_savings_spend: 0,
  total_tokens: 0,
  successful_requests: 0,
  failed_requests: 0,
  api_requests: 0,
  total_response_time_ms: 0,
  timed_requests: 0,
});

// ---------- query ----------

export interface ActivityRow extends Record<RouteMeasure, number> {
  day: string;
  entity: string | null;
  api_key: string | null;
  model: string | null;
  model_group: string | null;
  custom_llm_provider: string | null;
  mcp_namespaced_tool_name: string | null;
  endpoint: string | null;
  total_rows: number;
}

/** Columns the activity rollups read that this "LiteLLM_SpendLogs" lacks (they read as NULL). */
async function missingColumns(db: Db): Promise<Set<string>> {
  const have = (await schemaFacts(db)).spendLogColumns;
  return new Set<string>(ACTIVITY_SOURCE_COLUMNS.filter((c) => !have.has(c)));
}

/** The two parts of an activity source: the rollup rows (`r`) and the raw logs of dirty days (`x`). */
export type SourceAlias = "r" | "x";
/** A column of one part, quoted by kysely; `c` is a literal or from ENTITY_COLUMN, never input. */
const col = (alias: SourceAlias, c: string) => sql.ref(`${alias}.${c}`);

function filters(
  alias: SourceAlias,
  entity: ActivityEntity,
  scope: Scope,
  q: DailyActivityQuery,
): RawBuilder<unknown>[] {
  const out: RawBuilder<unknown>[] = [];
  const ent = col(alias, ENTITY_COLUMN[entity]);
  const uid = scopeUserId(scope);
  if (uid !== null) out.push(sql`${col(alias, "user")} = ${uid}`);
  if (q.model) out.push(sql`${col(alias, "model")} = ${q.model}`);
  if (q.api_key) out.push(sql`${col(alias, "api_key")} = ${normalizeKeyFilter(q.api_key)}`);
  if (q.entity_ids !== undefined) {
    out.push(q.entity_ids.length ? sql`${ent} = ANY(${q.entity_ids}::text[])` : sql`false`);
  }
  if (q.exclude_entity_ids?.length) {
    // LiteLLM's `NOT IN` also drops rows with no entity (NULL NOT IN (...) is not true).
    out.push(sql`${ent} <> ALL(${q.exclude_entity_ids}::text[])`);
  }
  return out;
}

// Every sum as float8: both drivers then return JS numbers (token sums stay exact below 2^53).
const SUMS = ACTIVITY_MEASURES.map((m) => sql`sum(${sql.ref(m)})::float8 AS ${sql.id(m)}`);

/** The grouped rows of one page (or every row), with the count of all rows. */
/**
 * `WITH dirty …, src AS (…)`: the activity rows (day, the table's dimensions, every measure) of the days
 * [start, end] that match `conds`: clean days from the rollup table, dirty days from the raw logs, in one
 * statement (one snapshot). `conds(alias)` gives the conditions on a row of either part.
 */
export async function activitySourceSql(
  db: Db,
  tag: boolean,
  start: string,
  end: string,
  conds: (alias: SourceAlias) => RawBuilder<unknown>[],
): Promise<RawBuilder<unknown>> {
  await foldBeforeRead(db);
  const table = sql.table(`spendlens.${tag ? ACTIVITY_TAG_TABLE : ACTIVITY_TABLE}`);
  const missing = await missingColumns(db);
  // Each expression is text the rollup DDL generates from code (column names from ACTIVITY_DIMS and
  // literals; a column the table lacks becomes a typed NULL): never input.
  const exprs = sql.join(
    activityExprs(missing, "l").map((e) => sql`${sql.raw(e.expr)} AS ${sql.id(e.name)}`),
  );
  const rollupWhere = sql.join(
    [
      sql`r.day BETWEEN ${start}::date AND ${end}::date`,
      sql`r.day <> ALL((SELECT dirty.days FROM dirty)::date[])`,
      ...conds("r"),
    ],
    sql` AND `,
  );
  const rawWhere = conds("x");
  const rawFrom = sql`(SELECT ${exprs} FROM dirty JOIN "LiteLLM_SpendLogs" l ON dirty.lo IS NOT NULL
      AND l."startTime" >= dirty.lo::timestamp AND l."startTime" < (dirty.hi + 1)::timestamp
      AND spendlens.utc_day(l."startTime") = ANY(dirty.days))`;
  const rawRel = tag
    ? sql`(SELECT x0.*, e.tag FROM ${rawFrom} x0 CROSS JOIN LATERAL spendlens.request_tag_set(x0.request_tags) e)`
    : rawFrom;
  const cols = sql.join(
    ["day", ...(tag ? ACTIVITY_TAG_DIMS : ACTIVITY_DIMS), ...ACTIVITY_MEASURES].map((c) => sql.ref(c)),
  );
  return sql`WITH dirty AS MATERIALIZED (SELECT min(rd.day) AS lo, max(rd.day) AS hi, coalesce(array_agg(rd.day), '{}') AS days
      FROM spendlens.rollup_days rd WHERE rd.dirty_at IS NOT NULL
        AND rd.day BETWEEN ${start}::date AND ${end}::date),
    src AS (
      SELECT ${cols} FROM ${table} r WHERE ${rollupWhere}
      UNION ALL
      SELECT ${cols} FROM ${rawRel} x
        ${rawWhere.length ? sql`WHERE ${sql.join(rawWhere, sql` AND `)}` : sql``})`;
}

/** Whether migration 0012's route rollups exist (a database migrated part of the way lacks them). */
export async function hasRouteRollups(db: Db): Promise<boolean> {
  return (await schemaFacts(db)).routeRollups;
}

/** A quoted identifier from the route rollups' constants (checked: lower-case names only). */
function constIdent(name: string): string {
  if (!/^[a-z_]+$/.test(name)) throw new Error(`not a route rollup identifier: ${name}`);
  return `"${name}"`;
}
/** The fixed parts of a route page's statement (routePage), from the route rollups' constants. */
const PAGE_TEXT = {
  table: `spendlens.${constIdent(ROUTE_TABLE)}`,
  rowsTable: `spendlens.${constIdent(ROUTE_ROWS_TABLE)}`,
  columns: [
    "r.day::text AS day",
    "r.entity",
    "r.api_key",
    "r.model",
    "r.model_group",
    "r.custom_llm_provider",
    "r.mcp_namespaced_tool_name",
    "r.call_type AS endpoint",
    ...ROUTE_MEASURES.map((m) => `r.${constIdent(m)}::float8 AS ${constIdent(m)}`),
  ].join(", "),
  order: ["r.day DESC", ...ROUTE_ORDER.map((c) => `r.${constIdent(c)} NULLS FIRST`)].join(", "),
  entityMeta: {
    team: `(SELECT jsonb_build_object('team_alias', tt.team_alias) FROM "LiteLLM_TeamTable" tt WHERE tt.team_id = g.entity)`,
    user: `(SELECT jsonb_build_object('user_email', ut.user_email) FROM "LiteLLM_UserTable" ut WHERE ut.user_id = g.entity)`,
  } as Partial<Record<ActivityEntity, string>>,
  keyJoin: ` LEFT JOIN LATERAL (SELECT vt.token, vt.key_alias, vt.team_id AS key_team_id, vt.user_id AS key_user_id,
          u.user_email AS key_user_email
        FROM "LiteLLM_VerificationToken" vt LEFT JOIN "LiteLLM_UserTable" u ON u.user_id = vt.user_id
        WHERE vt.token = g.api_key AND g.api_key <> '') km ON true`,
};

/**
 * One page (or every row) from migration 0012's route rollups: the rows are LiteLLM's daily-table rows
 * already, read through the page-order index; the row count is a sum of per-(day, entity) counters (a
 * model or api_key filter counts the matching rows instead). null when this answer cannot come from
 * them: no such tables, an internal user on a route whose rows do not carry the user, or a dirty day in
 * the range (its rollups are stale: the caller reads raw logs) — checked in the same statement.
 */
async function routeRows(
  db: Db,
  scope: Scope,
  entity: ActivityEntity,
  q: DailyActivityQuery,
): Promise<RowsWithMeta | null> {
  const uid = scopeUserId(scope);
  if (uid !== null && entity !== "user") return null;
  if (!(await hasRouteRollups(db))) return null;
  // Without the check a page is never "pending" (null would only send the caller to the raw logs).
  const read = async () => {
    const page = await routePage(db, uid, entity, q, false);
    return page === "pending" ? null : page;
  };
  // With it, the page's statement itself says whether any log is pending: none (the usual case, as the
  // server folds every second) and its rows are exact and fresh, with no fold call before it.
  return readFolded(
    db,
    async () => {
      const page = await routePage(db, uid, entity, q, true);
      return page === "pending" ? LOGS_WAITING : page;
    },
    read,
  );
}

/**
 * The page's one statement. With `checkPending`, it also reads whether `spendlens.spend_log_pending`
 * holds any row, in the same snapshot as the rollups: when it holds none, the rollups already hold every
 * log committed before the statement began (a fold moves rows from pending to the rollups in one
 * transaction, and a fold in flight still shows its rows as pending), so the page is as fresh as one read
 * after a fold; when it holds some, "pending" (no rows were read) and the caller folds and reads again.
 */
async function routePage(
  db: Db,
  uid: string | null,
  entity: ActivityEntity,
  q: DailyActivityQuery,
  checkPending: boolean,
): Promise<RowsWithMeta | null | "pending"> {
  // The statement is text built here: identifiers from the constants above (PAGE_TEXT), every value a
  // bound parameter (`p`). kysely's sql tag would walk the same ~150 fragments on every call.
  const params: unknown[] = [];
  const p = (v: unknown, cast = "") => `$${params.push(v)}${cast}`;
  const start = p(q.start_date, "::date");
  const end = p(q.end_date, "::date");
  const entityConds = (a: "r" | "c"): string[] => {
    const out = [`${a}.kind = ${p(ROUTE_KIND[entity], '::"char"')}`, `${a}.day BETWEEN ${start} AND ${end}`];
    if (uid !== null) out.push(`${a}.entity = ${p(uid, "::text")}`);
    if (q.entity_ids !== undefined)
      out.push(q.entity_ids.length ? `${a}.entity = ANY(${p(q.entity_ids, "::text[]")})` : "false");
    // LiteLLM's `NOT IN` also drops rows with no entity (NULL NOT IN (...) is not true).
    if (q.exclude_entity_ids?.length) out.push(`${a}.entity <> ALL(${p(q.exclude_entity_ids, "::text[]")})`);
    return out;
  };
  const rowConds = entityConds("r");
  if (q.model) rowConds.push(`r.model = ${p(q.model, "::text")}`);
  if (q.api_key) rowConds.push(`r.api_key = ${p(normalizeKeyFilter(q.api_key), "::text")}`);
  const rowWhere = rowConds.join(" AND ");
  // `d.go` (no dirty day, nothing pending) is a one-time filter: the count reads nothing otherwise.
  const count =
    q.model || q.api_key
      ? `SELECT count(*)::int AS n FROM ${PAGE_TEXT.table} r WHERE d.go AND ${rowWhere}`
      : `SELECT coalesce(sum(c.n), 0)::int AS n FROM ${PAGE_TEXT.rowsTable} c
          WHERE d.go AND ${entityConds("c").join(" AND ")}`;
  const limit =
    q.page === null
      ? ""
      : ` LIMIT ${p(q.page_size, "::int")} OFFSET ${p((q.page - 1) * q.page_size, "::int")}`;
  // A page's key and entity metadata come in the same statement (one round trip fewer per call).
  const withMeta = q.page !== null;
  const meta = withMeta
    ? `, km.key_alias, km.key_team_id, km.key_user_id, km.key_user_email, km.token IS NOT NULL AS key_exists,
        ${PAGE_TEXT.entityMeta[entity] ?? "NULL::jsonb"} AS entity_meta`
    : "";
  const metaJoin = withMeta ? PAGE_TEXT.keyJoin : "";
  const pending = checkPending ? "EXISTS (SELECT 1 FROM spendlens.spend_log_pending)" : "false";
  const text = `WITH dirty AS MATERIALIZED (SELECT x.dirty, x.pending, NOT (x.dirty OR x.pending) AS go FROM (SELECT EXISTS (
        SELECT 1 FROM spendlens.rollup_days rd WHERE rd.dirty_at IS NOT NULL
          AND rd.day BETWEEN ${start} AND ${end}) AS dirty, ${pending} AS pending) x)
    SELECT d.dirty, d.pending, c.n AS total_rows, g.*${meta} FROM dirty d CROSS JOIN LATERAL (${count}) c
      LEFT JOIN LATERAL (SELECT ${PAGE_TEXT.columns} FROM ${PAGE_TEXT.table} r WHERE d.go AND ${rowWhere}
        ORDER BY ${PAGE_TEXT.order}${limit}) g ON true${metaJoin}`;
  const r = await executeNamed(
    db,
    CompiledQuery.raw(text, params) as CompiledQuery<
      ActivityRow & RowMeta & { dirty: boolean; pending: boolean }
    >,
    "pglite",
  );
  if (r.rows[0]?.dirty) return null;
  if (r.rows[0]?.pending) return "pending";
  const total = r.rows[0]?.total_rows ?? 0;
  const rows = r.rows.filter((x) => x.day !== null);
  if (!withMeta) return { rows, total };
  const keys = new Map<string, KeyMetadata>();
  const ents = new Map<string, Record<string, unknown>>();
  for (const x of rows) {
    if (x.key_exists && x.api_key)
      keys.set(x.api_key, {
        key_alias: x.key_alias,
        team_id: x.key_team_id,
        user_id: x.key_user_id,
        user_email: x.key_user_email,
        key_exists: true,
      });
    if (x.entity_meta && x.entity) ents.set(x.entity, x.entity_meta);
  }
  return { rows, total, meta: { keys, ents } };
}

/** The key and entity metadata a route-rollup page carries (keyMetadata and entityMetadata, joined). */
interface RowMeta {
  key_alias: string | null;
  key_team_id: string | null;
  key_user_id: string | null;
  key_user_email: string | null;
  key_exists: boolean | null;
  entity_meta: Record<string, unknown> | null;
}

interface RowsWithMeta {
  rows: ActivityRow[];
  total: number;
  /** The page's key and entity metadata, when the query fetched them with the rows. */
  meta?: { keys: Map<string, KeyMetadata>; ents: Map<string, Record<string, unknown>> };
}

/** The grouped rows of one page (or every row), with the count of all rows. */
export async function activityRows(
  db: Db,
  scope: Scope,
  entity: ActivityEntity,
  q: DailyActivityQuery,
): Promise<RowsWithMeta> {
  const fast = await routeRows(db, scope, entity, q);
  if (fast) return fast;
  const cte = await activitySourceSql(db, entity === "tag", q.start_date, q.end_date, (a) =>
    filters(a, entity, scope, q),
  );
  // The route rollups' page order (their columns are COLLATE "C"): the same pages on either path.
  const order = sql`g.day DESC, g.entity COLLATE "C" NULLS FIRST, g.api_key COLLATE "C" NULLS FIRST, g.model COLLATE "C" NULLS FIRST, g.model_group COLLATE "C" NULLS FIRST, g.custom_llm_provider COLLATE "C" NULLS FIRST, g.mcp_namespaced_tool_name COLLATE "C" NULLS FIRST, g.endpoint COLLATE "C" NULLS FIRST`;
  const limit = q.page === null ? sql`` : sql` LIMIT ${q.page_size} OFFSET ${(q.page - 1) * q.page_size}`;
  const statement = sql<ActivityRow>`${cte},
    grp AS MATERIALIZED (SELECT day::text AS day, ${sql.ref(ENTITY_COLUMN[entity])} AS entity, api_key, model,
        model_group, custom_llm_provider, mcp_namespaced_tool_name, call_type AS endpoint, ${sql.join(SUMS, sql`, `)}
      FROM src GROUP BY 1, 2, 3, 4, 5, 6, 7, 8)
    SELECT g.*, c.n AS total_rows FROM (SELECT count(*)::int AS n FROM grp) c
      LEFT JOIN LATERAL (SELECT * FROM grp g ORDER BY ${order}${limit}) g ON true`;
  const r = await executeNamed(db, statement, "pglite");
  const total = r.rows[0]?.total_rows ?? 0;
  return { rows: r.rows.filter((x) => x.day !== null), total };
}

// ---------- shape ----------

/** A row of the aggregated route's per-(day, dimension) sums (dailyAggregated.ts). */
export interface DimRow extends Record<RouteMeasure, number> {
  t: string;
  day: string;
  v1: string | null;
  v2: string | null;
  v3: string | null;
  v4: string | null;
  v5: string | null;
  v6: string | null;
  v7: string | null;
}

/**
 * A route row of the aggregated route's statements (dim 'r': v1–v7 are the entity, key, model, model
 * group, provider, MCP tool and endpoint) as an ActivityRow.
 */
export function routeRowOf(x: DimRow): ActivityRow {
  const { t: _t, day, v1, v2, v3, v4, v5, v6, v7, ...m } = x;
  return {
    ...m,
    day,
    entity: v1,
    api_key: v2,
    model: v3,
    model_group: v4,
    custom_llm_provider: v5,
    mcp_namespaced_tool_name: v6,
    endpoint: v7,
    total_rows: 0,
  };
}

export function addTo(m: SpendMetrics, r: Record<RouteMeasure, number>): void {
  m.spend += r.spend;
  m.prompt_tokens += r.prompt_tokens;
  m.completion_tokens += r.completion_tokens;
  // LiteLLM's total_tokens is prompt + completion (update_metrics), not the logs' total_tokens column.
  m.total_tokens += r.prompt_tokens + r.completion_tokens;
  m.cache_read_input_tokens += r.cache_read_input_tokens;
  m.cache_creation_input_tokens += r.cache_creation_input_tokens;
  m.api_requests += r.requests;
  m.successful_requests += r.successful_requests;
  m.failed_requests += r.failed_requests;
  m.total_response_time_ms += r.total_response_time_ms;
  m.timed_requests += r.timed_requests;
}

export async function keyMetadata(db: Db, keys: string[]): Promise<Map<string, KeyMetadata>> {
  const out = new Map<string, KeyMetadata>();
  if (!keys.length) return out;
  const r = await sql<{
    token: string;
    key_alias: string | null;
    team_id: string | null;
    user_id: string | null;
    user_email: string | null;
  }>`SELECT t.token, t.key_alias, t.team_id, t.user_id, u.user_email
    FROM "LiteLLM_VerificationToken" t LEFT JOIN "LiteLLM_UserTable" u ON u.user_id = t.user_id
    WHERE t.token = ANY(${keys}::text[])`.execute(db);
  for (const { token, ...k } of r.rows) out.set(token, { ...k, key_exists: true });
  return out;
}

export async function entityMetadata(
  db: Db,
  entity: ActivityEntity,
  ids: string[],
): Promise<Map<string, Record<string, unknown>>> {
  const out = new Map<string, Record<string, unknown>>();
  if (!ids.length) return out;
  if (entity === "team") {
    const r = await sql<{ team_id: string; team_alias: string | null }>`SELECT team_id, team_alias
      FROM "LiteLLM_TeamTable" WHERE team_id = ANY(${ids}::text[])`.execute(db);
    for (const t of r.rows) out.set(t.team_id, { team_alias: t.team_alias });
  } else if (entity === "user") {
    const r = await sql<{ user_id: string; user_email: string | null }>`SELECT user_id, user_email
      FROM "LiteLLM_UserTable" WHERE user_id = ANY(${ids}::text[])`.execute(db);
    for (const u of r.rows) out.set(u.user_id, { user_email: u.user_email });
  }
  return out;
}

/** Folds grouped rows into LiteLLM's per-date results (newest first) and the totals over them. */
/** A dimension's bucket name from its value, as LiteLLM names it; null: no bucket. */
const DIM_BUCKET: Record<string, [keyof BreakdownMetrics, (v: string | null) => string | null]> = {
  m: ["models", (v) => v || null],
  g: ["model_groups", (v) => v || null],
  x: ["mcp_servers", (v) => v || null],
  p: ["providers", (v) => v || "unknown"],
  e: ["endpoints", (v) => v || null],
  n: ["entities", (v) => v || "Unassigned"],
};

/**
 * Folds rows into LiteLLM's per-date results (newest first) and the totals over them. With `dims` (the
 * aggregated route's per-(day, dimension) sums), the days' and buckets' metrics come from those and the
 * rows only fill api_keys and each bucket's api_key_breakdown.
 */
export function shapeDailyActivity(
  rows: ActivityRow[],
  keys: Map<string, KeyMetadata>,
  entities: Map<string, Record<string, unknown>>,
  /** Keys listed in api_keys and api_key_breakdown (the aggregated route's top keys); every key if absent. */
  listKey?: (apiKey: string) => boolean,
  dims?: DimRow[],
): { results: DailySpendData[]; totals: SpendMetrics } {
  const byDate = new Map<string, DailySpendData>();
  const totals = emptyMetrics();
  const dayOf = (date: string): DailySpendData => {
    let day = byDate.get(date);
    if (!day) {
      day = { date, metrics: emptyMetrics(), breakdown: emptyBreakdown() };
      byDate.set(date, day);
    }
    return day;
  };
  const keyMeta = (k: string): KeyMetadata =>
    keys.get(k) ?? { key_alias: null, team_id: null, user_id: null, user_email: null, key_exists: false };
  const withMetrics = !dims;
  const bucketOf = (target: Record<string, MetricWithMetadata>, name: string) => {
    target[name] ??= { metrics: emptyMetrics(), metadata: {}, api_key_breakdown: {} };
    return target[name];
  };
  const addKey = (target: Record<string, KeyMetricWithMetadata>, r: ActivityRow) => {
    const apiKey = r.api_key ?? "";
    if (listKey && !listKey(apiKey)) return;
    target[apiKey] ??= { metrics: emptyMetrics(), metadata: keyMeta(apiKey) };
    addTo(target[apiKey].metrics, r);
  };
  const bucket = (target: Record<string, MetricWithMetadata>, name: string, r: ActivityRow) => {
    const b = bucketOf(target, name);
    if (withMetrics) addTo(b.metrics, r);
    addKey(b.api_key_breakdown, r);
  };
  for (const d of dims ?? []) {
    const day = dayOf(d.day);
    if (d.t === "d") {
      addTo(day.metrics, d);
      addTo(totals, d);
      continue;
    }
    const spec = DIM_BUCKET[d.t];
    const name = spec?.[1](d.v1);
    if (!spec || name == null) continue;
    addTo(bucketOf(day.breakdown[spec[0]] as Record<string, MetricWithMetadata>, name).metrics, d);
  }
  for (const r of rows) {
    const day = dayOf(r.day);
    if (withMetrics) {
      addTo(day.metrics, r);
      addTo(totals, r);
    }
    const b = day.breakdown;
    if (r.model) bucket(b.models, r.model, r);
    const group = r.model_group || r.model;
    if (group) bucket(b.model_groups, group, r);
    if (r.mcp_namespaced_tool_name) bucket(b.mcp_servers, r.mcp_namespaced_tool_name, r);
    bucket(b.providers, r.custom_llm_provider || "unknown", r);
    if (r.endpoint) bucket(b.endpoints, r.endpoint, r);
    addKey(b.api_keys, r);
    bucket(b.entities, r.entity || "Unassigned", r);
  }
  for (const day of byDate.values())
    for (const [name, e] of Object.entries(day.breakdown.entities)) e.metadata = entities.get(name) ?? {};
  return { results: newestFirst(byDate), totals };
}

const newestFirst = (byDate: Map<string, DailySpendData>): DailySpendData[] =>
  [...byDate.values()].sort((a, b) => (a.date < b.date ? 1 : a.date > b.date ? -1 : 0));

const emptyBreakdown = (): BreakdownMetrics => ({
  mcp_servers: {},
  models: {},
  model_groups: {},
  providers: {},
  endpoints: {},
  api_keys: {},
  entities: {},
});

export function responseOf(
  results: DailySpendData[],
  totals: SpendMetrics,
  paging: { page: number; total_pages: number; has_more: boolean },
  extra: { api_key_limit?: number; total_api_keys?: number } = {},
): SpendAnalyticsPaginatedResponse {
  return {
    results,
    metadata: {
      total_spend: totals.spend,
      total_flat_cost: 0,
      total_prompt_tokens: totals.prompt_tokens,
      total_completion_tokens: totals.completion_tokens,
      total_tokens: totals.total_tokens,
      total_api_requests: totals.api_requests,
      total_successful_requests: totals.successful_requests,
      total_failed_requests: totals.failed_requests,
      total_cache_read_input_tokens: totals.cache_read_input_tokens,
      total_cache_creation_input_tokens: totals.cache_creation_input_tokens,
      total_compression_saved_tokens: 0,
      total_compression_savings_spend: 0,
      total_prompt_caching_savings_spend: 0,
      total_gateway_injected_caching_savings_spend: 0,
      total_autorouter_savings_spend: 0,
      total_response_time_ms: totals.total_response_time_ms,
      total_timed_requests: totals.timed_requests,
      ...paging,
      ...extra,
    },
  };
}

export const definedKeys = (xs: (string | null)[]) => [...new Set(xs.filter((k): k is string => !!k))];

/**
 * Daily activity of one entity kind, LiteLLM's response shape: one page of LiteLLM's daily-table rows
 * (`page: null`: every row, one page).
 */
export async function dailyActivity(
  db: Db,
  scope: Scope,
  entity: ActivityEntity,
  q: DailyActivityQuery,
): Promise<SpendAnalyticsPaginatedResponse> {
  if (q.start_date > q.end_date) throw badRequest("end_date", "must not be before start_date");
  if (q.page === null) return dailyActivityUncached(db, scope, entity, q);
  return (await dailyPage(db, scope, entity, q, dailyActivityUncached)).value();
}

/** dailyActivity's answer as JSON bytes: a page the cache holds (pageCache.ts) is sent as it is. */
export async function dailyActivityJson(
  db: Db,
  scope: Scope,
  entity: ActivityEntity,
  q: DailyActivityQuery,
): Promise<Uint8Array> {
  if (q.start_date > q.end_date) throw badRequest("end_date", "must not be before start_date");
  return (await dailyPage(db, scope, entity, q, dailyActivityUncached)).bytes();
}

/** dailyActivity without the page cache. */
async function dailyActivityUncached(
  db: Db,
  scope: Scope,
  entity: ActivityEntity,
  q: DailyActivityQuery,
): Promise<SpendAnalyticsPaginatedResponse> {
  const { rows, total, meta } = await activityRows(db, scope, entity, q);
  const [keys, ents] = meta
    ? [meta.keys, meta.ents]
    : await Promise.all([
        keyMetadata(db, definedKeys(rows.map((r) => r.api_key))),
        entityMetadata(db, entity, definedKeys(rows.map((r) => r.entity))),
      ]);
  const { results, totals } = shapeDailyActivity(rows, keys, ents);
  if (q.page === null) return responseOf(results, totals, { page: 1, total_pages: 1, has_more: false });
  return responseOf(results, totals, {
    page: q.page,
    total_pages: Math.ceil(total / q.page_size),
    has_more: q.page * q.page_size < total,
  });
}

// ---------- one function per route (inputs as the routes take them) ----------

export type In<T extends z.ZodType> = z.output<T>;
export const common = (i: {
  start_date: string;
  end_date: string;
  model?: string | undefined;
  api_key?: string | undefined;
  page: number;
}) => ({ start_date: i.start_date, end_date: i.end_date, model: i.model, api_key: i.api_key, page: i.page });

/**
 * The user route through `read` (the object, or the REST bytes); `now` is the clock
 * `include_current_utc_day` reads (a parameter for tests).
 */
const userRoute =
  <R>(read: (db: Db, scope: Scope, kind: "user", q: DailyActivityQuery) => Promise<R>) =>
  async (db: Db, scope: Scope, i: In<typeof userDailyActivityInput>, now: Date = new Date()): Promise<R> =>
    read(db, narrowToUser(scope, i.user_id), "user", userQuery(i, now));

export const userDailyActivity = userRoute(dailyActivity);

const userQuery = (i: In<typeof userDailyActivityInput>, now: Date): DailyActivityQuery => ({
  ...common(i),
  end_date: liveEndDate(i.end_date, i.timezone, i.include_current_utc_day, now),
  page_size: i.page_size,
});

/** userDailyActivity's answer as JSON bytes (the REST route). */
export const userDailyActivityJson = userRoute(dailyActivityJson);

export {
  AGGREGATED_API_KEY_LIMIT,
  dailyActivityAggregated,
  userDailyActivityAggregated,
} from "./dailyAggregated.ts";
