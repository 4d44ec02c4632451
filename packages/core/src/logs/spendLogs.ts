import { sql } from "kysely";
import { z } from "zod";
import type { Db } from "../db/connect.ts";
import { narrowToUser, type Scope } from "../scope.ts";
import { checkDayRange, dayWindow, eachDay, zDay } from "../validation.ts";
import { LOG_ID_FILTERS } from "./inputs.ts";
import {
  logFilterOf,
  querySpendLogs,
  type SpendLogFilter,
  type SpendLogRow,
  whereSpendLogs,
} from "./query.ts";

/** The most rows a list answer of /spend/logs carries (the original had no cap: a whole-table dump). */
export const SPEND_LOGS_LIST_CAP = 1000;

/** GET /spend/logs query. start_date and end_date (YYYY-MM-DD) go together. */
export const spendLogsInput = z
  .object({
    ...LOG_ID_FILTERS,
    start_date: zDay.optional(),
    end_date: zDay.optional(),
    /** With a date range: true (default) the per-day summary, false the logs themselves (LiteLLM's flag). */
    summarize: z
      .preprocess(
        (v) => (v === "true" ? true : v === "false" ? false : v),
        z.boolean({ error: "must be true or false" }),
      )
      .optional(),
  })
  .superRefine((v, ctx) => {
    if (v.start_date !== undefined && v.end_date === undefined)
      ctx.addIssue({ code: "custom", path: ["end_date"], message: "is required when start_date is given" });
    if (v.end_date !== undefined && v.start_date === undefined)
      ctx.addIssue({ code: "custom", path: ["start_date"], message: "is required when end_date is given" });
    checkDayRange(v, ctx);
  });

export type SpendLogsInput = z.output<typeof spendLogsInput>;

/** One day of the summary: total spend, spend per user, per model and per api_key. */
export interface SpendLogDay {
  /** YYYY-MM-DD (UTC). */
  date: string;
  spend: number;
  users: Record<string, number>;
  models: Record<string, number>;
  api_keys: Record<string, number>;
}

export type SpendLogsResult =
  | { mode: "summary"; days: SpendLogDay[] }
  | {
      mode: "logs";
      /** Newest first, at most `limit` rows. */
      data: SpendLogRow[];
      /** True when more rows matched than `limit`. */
      truncated: boolean;
      limit: number;
    };

/**
 * GET /spend/logs.
 * - With start_date and end_date: the per-day summary over the whole days [start, end], every day present
 *   (days without logs are zero); api_key, request_id and user_id narrow it (all that are given apply).
 * - Otherwise: the logs matching api_key / request_id / user_id (all that are given), newest first, at
 *   most SPEND_LOGS_LIST_CAP rows with `truncated` saying whether more matched.
 * Internal users only ever see their own rows; another user_id is a 403.
 */
export async function spendLogs(db: Db, scope: Scope, input: SpendLogsInput): Promise<SpendLogsResult> {
  const s = narrowToUser(scope, input.user_id);
  const filter = logFilterOf({ api_key: input.api_key, request_id: input.request_id });
  if (input.start_date !== undefined && input.end_date !== undefined) {
    if (input.summarize !== false)
      return {
        mode: "summary",
        days: await spendLogsSummary(db, s, filter, input.start_date, input.end_date),
      };
    // summarize=false: the logs of the whole days [start, end], newest first.
    const w = dayWindow(input.start_date, input.end_date);
    filter.from = w.from;
    filter.toExclusive = w.to;
  }
  const rows = await querySpendLogs(db, s, filter, { limit: SPEND_LOGS_LIST_CAP + 1, offset: 0 });
  const truncated = rows.length > SPEND_LOGS_LIST_CAP;
  return {
    mode: "logs",
    data: truncated ? rows.slice(0, SPEND_LOGS_LIST_CAP) : rows,
    truncated,
    limit: SPEND_LOGS_LIST_CAP,
  };
}

async function spendLogsSummary(
  db: Db,
  scope: Scope,
  filter: SpendLogFilter,
  start: string,
  end: string,
): Promise<SpendLogDay[]> {
  const w = dayWindow(start, end);
  const day = sql<string>`("startTime")::date`;
  const rows = await whereSpendLogs(
    db
      .selectFrom("LiteLLM_SpendLogs")
      .select([
        day.as("date"),
        "api_key",
        "user",
        "model",
        sql<number>`coalesce(sum(spend), 0)::float8`.as("spend"),
      ])
      .where("startTime", "<", w.to),
    scope,
    { ...filter, from: w.from },
  )
    .groupBy([day, "api_key", "user", "model"])
    .execute();

  const byDay = new Map<string, SpendLogDay>();
  for (const d of eachDay(start, end))
    byDay.set(d, { date: d, spend: 0, users: {}, models: {}, api_keys: {} });
  const add = (m: Record<string, number>, k: string, v: number) => {
    m[k] = (m[k] ?? 0) + v;
  };
  for (const r of rows) {
    const d = byDay.get(r.date);
    if (!d) continue;
    d.spend += r.spend;
    add(d.users, r.user ?? "", r.spend);
    add(d.models, r.model, r.spend);
    add(d.api_keys, r.api_key, r.spend);
  }
  return [...byDay.values()];
}

/**
 * The original's REST shape of a /spend/logs answer: the list of rows, or one object per day
 * `{startTime: 'YYYY-MM-DD', spend, users, models, <api_key>: spend, ...}`.
 */
export function spendLogsRestShape(r: SpendLogsResult): unknown[] {
  if (r.mode === "logs") return r.data;
  // Keys first, so that no api_key can shadow the fixed fields.
  return r.days.map((d) => ({
    ...d.api_keys,
    users: d.users,
    models: d.models,
    spend: d.spend,
    startTime: d.date,
  }));
}
