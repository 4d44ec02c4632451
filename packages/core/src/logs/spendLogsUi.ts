import { z } from "zod";
import type { Db } from "../db/connect.ts";
import { narrowToUser, type Scope } from "../scope.ts";
import { zDateTime, zInt } from "../validation.ts";
import { LOG_ID_FILTERS, zFilter, zSpend } from "./inputs.ts";
import {
  countSpendLogs,
  logFilterOf,
  querySpendLogs,
  SPEND_LOG_SORT_COLUMNS,
  type SpendLogRow,
} from "./query.ts";

export const MAX_LOGS_PAGE = 1_000_000;

/** GET /spend/logs/ui query. start_date and end_date are required UTC datetimes. */
export const spendLogsUiInput = z
  .object({
    ...LOG_ID_FILTERS,
    team_id: zFilter.optional(),
    min_spend: zSpend.optional(),
    max_spend: zSpend.optional(),
    start_date: zDateTime,
    end_date: zDateTime,
    page: zInt(1, MAX_LOGS_PAGE).default(1),
    page_size: zInt(1, 100).default(50),
    status_filter: zFilter.optional(),
    model: zFilter.optional(),
    model_id: zFilter.optional(),
    key_alias: zFilter.optional(),
    end_user: zFilter.optional(),
    error_code: zFilter.optional(),
    /** One request tag: logs whose request_tags include it (a spendlens addition). */
    tag: zFilter.optional(),
    sort_by: z
      .enum(SPEND_LOG_SORT_COLUMNS, { error: `must be one of ${SPEND_LOG_SORT_COLUMNS.join(", ")}` })
      .optional(),
    sort_order: z.enum(["asc", "desc"], { error: "must be asc or desc" }).optional(),
  })
  .superRefine((v, ctx) => {
    if (v.end_date < v.start_date)
      ctx.addIssue({ code: "custom", path: ["end_date"], message: "must not be before start_date" });
  });

export type SpendLogsUiInput = z.output<typeof spendLogsUiInput>;

export interface SpendLogsPage {
  data: SpendLogRow[];
  total: number;
  page: number;
  page_size: number;
  total_pages: number;
}

/**
 * GET /spend/logs/ui: filtered logs, newest first, one page at a time. Both ends of the window are
 * inclusive (the original's gte/lte). The total is counted with the same filters, and only when the page
 * does not tell it already: a short page (or an empty first page) is the last one, so its total is
 * known without a COUNT.
 */
export async function spendLogsUi(db: Db, scope: Scope, input: SpendLogsUiInput): Promise<SpendLogsPage> {
  const s = narrowToUser(scope, input.user_id);
  const filter = logFilterOf(input);
  const offset = (input.page - 1) * input.page_size;
  const data = await querySpendLogs(db, s, filter, {
    limit: input.page_size,
    offset,
    sortBy: input.sort_by ?? "startTime",
    sortOrder: input.sort_order ?? "desc",
  });
  return pageOf(data, input, () => countSpendLogs(db, s, filter));
}

/**
 * A page of logs with its total, counted (`count`) only when the page does not tell it already: a
 * short page (or an empty first page) is the last one, so its total is known without a COUNT.
 */
export async function pageOf(
  data: SpendLogRow[],
  input: { page: number; page_size: number },
  count: () => Promise<number>,
): Promise<SpendLogsPage> {
  const offset = (input.page - 1) * input.page_size;
  const lastPageKnown = data.length < input.page_size && (data.length > 0 || offset === 0);
  const total = lastPageKnown ? offset + data.length : await count();
  return {
    data,
    total,
    page: input.page,
    page_size: input.page_size,
    total_pages: Math.ceil(total / input.page_size),
  };
}
