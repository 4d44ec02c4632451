import { sql } from "kysely";
import { z } from "zod";
import type { Db } from "../db/connect.ts";
import { pushGrouped } from "../reports/group.ts";
import {
  dayOf,
  dayRangeShape,
  requireAllScope,
  userCond,
  windowCond,
  windowOf,
} from "../reports/sqlParts.ts";
import type { Scope } from "../scope.ts";
import { checkDayRange, type Window } from "../validation.ts";

/**
 * GET /global/activity, /global/activity/model, /global/activity/exceptions and
 * /global/activity/exceptions/deployment.
 *
 * Each report is one `…Rows` function holding its SQL (so a later rollup table can replace the raw-log
 * scan in one place) and one pure `shape…` function that builds the answer from those rows.
 * Days are ISO 'YYYY-MM-DD' and sorted as dates; the REST routes add the seed's 'Jan 22' label.
 */

/** How many model groups / api_bases the per-group reports keep (the seed's top 10). */
export const ACTIVITY_TOP_N = 10;

// ---------- inputs ----------

export const activityInput = z.object(dayRangeShape).superRefine(checkDayRange);
export type ActivityInput = z.infer<typeof activityInput>;

export const activityExceptionsInput = z
  .object({
    model_group: z
      .string({
        error: (iss) =>
          iss.input === undefined || iss.input === null ? "is required (a model group)" : "must be text",
      })
      .max(512, "must be at most 512 characters"),
    ...dayRangeShape,
  })
  .superRefine(checkDayRange);
export type ActivityExceptionsInput = z.infer<typeof activityExceptionsInput>;

// ---------- outputs ----------

export interface ActivityDay {
  /** UTC day, 'YYYY-MM-DD'. */
  date: string;
  api_requests: number;
  total_tokens: number;
}

export interface GlobalActivity {
  daily_data: ActivityDay[];
  sum_api_requests: number;
  sum_total_tokens: number;
}

export interface ModelGroupActivity extends GlobalActivity {
  /** The model_group (the seed's field name is `model`); '' for logs without one. */
  model: string;
}

export interface ExceptionDay {
  date: string;
  num_rate_limit_exceptions: number;
}

export interface ActivityExceptions {
  daily_data: ExceptionDay[];
  sum_num_rate_limit_exceptions: number;
}

export interface DeploymentExceptions extends ActivityExceptions {
  /** The deployment's api_base; '' for error logs without one. */
  api_base: string;
}

// ---------- queries (one per report) ----------

export interface ActivityDayRow {
  day: string;
  api_requests: number;
  total_tokens: number;
}

/** Requests and tokens per UTC day of the caller's logs in the window. */
export async function globalActivityRows(db: Db, scope: Scope, w: Window): Promise<ActivityDayRow[]> {
  const r = await sql<ActivityDayRow>`
    SELECT ${dayOf()} AS day,
           count(*)::int AS api_requests,
           coalesce(sum(total_tokens), 0)::float8 AS total_tokens
    FROM "LiteLLM_SpendLogs"
    WHERE true ${windowCond(w)} ${userCond(scope)}
    GROUP BY 1
    ORDER BY 1`.execute(db);
  return r.rows;
}

export interface ModelGroupDayRow extends ActivityDayRow {
  model_group: string;
}

/**
 * Requests and tokens per model_group and UTC day, for the top `limit` model groups by requests
 * (ties by name). A null model_group and '' are the same group ('').
 */
export async function activityByModelGroupRows(
  db: Db,
  scope: Scope,
  w: Window,
  limit = ACTIVITY_TOP_N,
): Promise<ModelGroupDayRow[]> {
  const r = await sql<ModelGroupDayRow>`
    WITH daily AS (
      SELECT coalesce(model_group, '') AS model_group,
             ${dayOf()} AS day,
             count(*)::int AS api_requests,
             coalesce(sum(total_tokens), 0)::float8 AS total_tokens
      FROM "LiteLLM_SpendLogs"
      WHERE true ${windowCond(w)} ${userCond(scope)}
      GROUP BY 1, 2
    ), top_groups AS (
      SELECT model_group
      FROM daily
      GROUP BY model_group
      ORDER BY sum(api_requests) DESC, model_group ASC
      LIMIT ${limit}
    )
    SELECT d.model_group, d.day, d.api_requests, d.total_tokens
    FROM daily d JOIN top_groups USING (model_group)
    ORDER BY d.model_group, d.day`.execute(db);
  return r.rows;
}

export interface ExceptionDayRow {
  day: string;
  num_rate_limit_exceptions: number;
}

/** 429 errors of one model group per UTC day (LiteLLM_ErrorLogs has no user: admins only). */
export async function activityExceptionsRows(
  db: Db,
  scope: Scope,
  modelGroup: string,
  w: Window,
): Promise<ExceptionDayRow[]> {
  requireAllScope(scope, "error logs");
  const r = await sql<ExceptionDayRow>`
    SELECT ${dayOf()} AS day, count(*)::int AS num_rate_limit_exceptions
    FROM "LiteLLM_ErrorLogs"
    WHERE model_group = ${modelGroup} AND status_code = '429' ${windowCond(w)}
    GROUP BY 1
    ORDER BY 1`.execute(db);
  return r.rows;
}

export interface DeploymentExceptionDayRow extends ExceptionDayRow {
  api_base: string;
}

/** 429 errors of one model group per api_base and UTC day, for the top `limit` api_bases by count. */
export async function activityExceptionsByDeploymentRows(
  db: Db,
  scope: Scope,
  modelGroup: string,
  w: Window,
  limit = ACTIVITY_TOP_N,
): Promise<DeploymentExceptionDayRow[]> {
  requireAllScope(scope, "error logs");
  const r = await sql<DeploymentExceptionDayRow>`
    WITH daily AS (
      SELECT coalesce(api_base, '') AS api_base, ${dayOf()} AS day, count(*)::int AS num_rate_limit_exceptions
      FROM "LiteLLM_ErrorLogs"
      WHERE model_group = ${modelGroup} AND status_code = '429' ${windowCond(w)}
      GROUP BY 1, 2
    ), top_bases AS (
      SELECT api_base
      FROM daily
      GROUP BY api_base
      ORDER BY sum(num_rate_limit_exceptions) DESC, api_base ASC
      LIMIT ${limit}
    )
    SELECT d.api_base, d.day, d.num_rate_limit_exceptions
    FROM daily d JOIN top_bases USING (api_base)
    ORDER BY d.api_base, d.day`.execute(db);
  return r.rows;
}

// ---------- shaping (pure) ----------

const byDay = <T extends { date: string }>(a: T, b: T) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0);

export function shapeGlobalActivity(rows: ActivityDayRow[]): GlobalActivity {
  const daily_data = rows
    .map((r) => ({ date: r.day, api_requests: r.api_requests, total_tokens: r.total_tokens }))
    .sort(byDay);
  return {
    daily_data,
    sum_api_requests: daily_data.reduce((s, d) => s + d.api_requests, 0),
    sum_total_tokens: daily_data.reduce((s, d) => s + d.total_tokens, 0),
  };
}

/** Groups per model_group, highest sum_api_requests first (ties by name), at most `limit`. */
export function shapeActivityByModelGroup(
  rows: ModelGroupDayRow[],
  limit = ACTIVITY_TOP_N,
): ModelGroupActivity[] {
  const groups = new Map<string, ActivityDayRow[]>();
  for (const r of rows) pushGrouped(groups, r.model_group, r);
  return [...groups.entries()]
    .map(([model, g]) => ({ model, ...shapeGlobalActivity(g) }))
    .sort((a, b) => b.sum_api_requests - a.sum_api_requests || (a.model < b.model ? -1 : 1))
    .slice(0, limit);
}

export function shapeActivityExceptions(rows: ExceptionDayRow[]): ActivityExceptions {
  const daily_data = rows
    .map((r) => ({ date: r.day, num_rate_limit_exceptions: r.num_rate_limit_exceptions }))
    .sort(byDay);
  return {
    daily_data,
    sum_num_rate_limit_exceptions: daily_data.reduce((s, d) => s + d.num_rate_limit_exceptions, 0),
  };
}

export function shapeExceptionsByDeployment(
  rows: DeploymentExceptionDayRow[],
  limit = ACTIVITY_TOP_N,
): DeploymentExceptions[] {
  const groups = new Map<string, ExceptionDayRow[]>();
  for (const r of rows) pushGrouped(groups, r.api_base, r);
  return [...groups.entries()]
    .map(([api_base, g]) => ({ api_base, ...shapeActivityExceptions(g) }))
    .sort(
      (a, b) =>
        b.sum_num_rate_limit_exceptions - a.sum_num_rate_limit_exceptions ||
        (a.api_base < b.api_base ? -1 : 1),
    )
    .slice(0, limit);
}

// ---------- reports ----------

/** GET /global/activity: requests and tokens per day, and their sums. Internal users: own rows. */
export async function globalActivity(db: Db, scope: Scope, input: ActivityInput): Promise<GlobalActivity> {
  return shapeGlobalActivity(await globalActivityRows(db, scope, windowOf(input)));
}

/** GET /global/activity/model: the same per model_group, top 10 groups by requests. */
export async function globalActivityByModelGroup(
  db: Db,
  scope: Scope,
  input: ActivityInput,
): Promise<ModelGroupActivity[]> {
  return shapeActivityByModelGroup(await activityByModelGroupRows(db, scope, windowOf(input)));
}

/** GET /global/activity/exceptions: 429 errors per day of one model group. */
export async function globalActivityExceptions(
  db: Db,
  scope: Scope,
  input: ActivityExceptionsInput,
): Promise<ActivityExceptions> {
  return shapeActivityExceptions(await activityExceptionsRows(db, scope, input.model_group, windowOf(input)));
}

/** GET /global/activity/exceptions/deployment: the same per api_base, top 10 by errors. */
export async function globalActivityExceptionsByDeployment(
  db: Db,
  scope: Scope,
  input: ActivityExceptionsInput,
): Promise<DeploymentExceptions[]> {
  return shapeExceptionsByDeployment(
    await activityExceptionsByDeploymentRows(db, scope, input.model_group, windowOf(input)),
  );
}
