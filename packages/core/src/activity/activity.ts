import { z } from "zod";
import type { Db } from "../db/connect.ts";
import { pushGrouped } from "../reports/group.ts";
import { dayRangeShape, requireAllScope, windowOf } from "../reports/sqlParts.ts";
import { errorTotals, spendTotals } from "../rollups/query.ts";
import type { Scope } from "../scope.ts";
import { checkDayRange, type Window } from "../validation.ts";

/**
 * GET /global/activity, /global/activity/model, /global/activity/exceptions and
 * /global/activity/exceptions/deployment.
 *
 * Each report is one `…Rows` function reading the daily rollups (rollups/query.ts: whole UTC days from
 * the rollup tables, dirty days from the raw logs, always exact) and one pure `shape…` function that builds the answer from those rows.
 * Days are ISO 'YYYY-MM-DD' and sorted as dates; the REST routes add the original's 'Jan 22' label.
 */

/** How many model groups / api_bases the per-group reports keep (the original's top 10). */
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
  /** The model_group (the original's field name is `model`); '' for logs without one. */
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

/** Requests and tokens per UTC day of the caller's logs in the window (from the daily rollups). */
export async function globalActivityRows(db: Db, scope: Scope, w: Window): Promise<ActivityDayRow[]> {
  const rows = await spendTotals(db, scope, { window: w, dims: ["day"], orderBy: [{ by: "day" }] });
  return rows.map((r) => ({ day: r.day as string, api_requests: r.requests, total_tokens: r.total_tokens }));
}

export interface ModelGroupDayRow extends ActivityDayRow {
  model_group: string;
}

const cmpName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Requests and tokens per model_group and UTC day, for the top `limit` model groups by requests
 * (ties by name). A null model_group and '' are the same group (''). Reads the rollups per
 * (model_group, day) (O(days × groups) rows) and ranks the groups here.
 */
export async function activityByModelGroupRows(
  db: Db,
  scope: Scope,
  w: Window,
  limit = ACTIVITY_TOP_N,
): Promise<ModelGroupDayRow[]> {
  const rows = await spendTotals(db, scope, { window: w, dims: ["model_group", "day"] });
  return topGroupsByDay(
    rows,
    limit,
    (r) => r.model_group ?? "",
    (r) => r.requests,
    (group, r): ModelGroupDayRow => ({
      model_group: group,
      day: r.day as string,
      api_requests: r.requests,
      total_tokens: r.total_tokens,
    }),
    (d, r) => {
      d.api_requests += r.requests;
      d.total_tokens += r.total_tokens;
    },
  );
}

/**
 * Rows per (group, UTC day) from rollup rows, kept for the top `limit` groups by `measure` (ties by
 * name), ordered by group then day. `make` builds a (group, day) row from its first rollup row, `add`
 * adds a further one (null and '' fold into the same group, so one (group, day) can have several).
 */
function topGroupsByDay<R extends { day?: string | null }, O extends { day: string }>(
  rows: R[],
  limit: number,
  groupOf: (r: R) => string,
  measure: (r: R) => number,
  make: (group: string, r: R) => O,
  add: (o: O, r: R) => void,
): O[] {
  const daily = new Map<string, { group: string; row: O }>();
  const totals = new Map<string, number>();
  for (const r of rows) {
    const group = groupOf(r);
    const k = `${group}\u0000${r.day as string}`;
    const d = daily.get(k);
    if (d) add(d.row, r);
    else daily.set(k, { group, row: make(group, r) });
    totals.set(group, (totals.get(group) ?? 0) + measure(r));
  }
  const top = new Set(
    [...totals.entries()]
      .sort((a, b) => b[1] - a[1] || cmpName(a[0], b[0]))
      .slice(0, limit)
      .map(([g]) => g),
  );
  return [...daily.values()]
    .filter((d) => top.has(d.group))
    .sort((a, b) => cmpName(a.group, b.group) || cmpName(a.row.day, b.row.day))
    .map((d) => d.row);
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
  const rows = await errorTotals(db, scope, {
    window: w,
    dims: ["day"],
    filters: { model_group: modelGroup, status_code: "429" },
    orderBy: [{ by: "day" }],
  });
  return rows.map((r) => ({ day: r.day as string, num_rate_limit_exceptions: r.errors }));
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
  const rows = await errorTotals(db, scope, {
    window: w,
    dims: ["api_base", "day"],
    filters: { model_group: modelGroup, status_code: "429" },
  });
  return topGroupsByDay(
    rows,
    limit,
    (r) => r.api_base ?? "",
    (r) => r.errors,
    (group, r): DeploymentExceptionDayRow => ({
      api_base: group,
      day: r.day as string,
      num_rate_limit_exceptions: r.errors,
    }),
    (d, r) => {
      d.num_rate_limit_exceptions += r.errors;
    },
  );
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

/**
 * Groups rows by a name, shapes each group, and keeps the `limit` groups with the highest total (ties by
 * name, ascending).
 */
function topGroups<R, S>(
  rows: R[],
  nameOf: (r: R) => string,
  shape: (g: R[]) => S,
  totalOf: (s: S) => number,
  limit: number,
): [string, S][] {
  const groups = new Map<string, R[]>();
  for (const r of rows) pushGrouped(groups, nameOf(r), r);
  return [...groups.entries()]
    .map(([name, g]): [string, S] => [name, shape(g)])
    .sort((a, b) => totalOf(b[1]) - totalOf(a[1]) || (a[0] < b[0] ? -1 : 1))
    .slice(0, limit);
}

/** Groups per model_group, highest sum_api_requests first (ties by name), at most `limit`. */
export function shapeActivityByModelGroup(
  rows: ModelGroupDayRow[],
  limit = ACTIVITY_TOP_N,
): ModelGroupActivity[] {
  return topGroups(
    rows,
    (r) => r.model_group,
    shapeGlobalActivity,
    (s) => s.sum_api_requests,
    limit,
  ).map(([model, s]) => ({ model, ...s }));
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
  return topGroups(
    rows,
    (r) => r.api_base,
    shapeActivityExceptions,
    (s) => s.sum_num_rate_limit_exceptions,
    limit,
  ).map(([api_base, s]) => ({ api_base, ...s }));
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
