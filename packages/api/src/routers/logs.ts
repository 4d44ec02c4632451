import {
  logsPage,
  logsPageInput,
  type SpendLogDay,
  spendLogDetail,
  spendLogDetailInput,
  spendLogs,
  spendLogsInput,
  spendLogsRestShape,
  spendLogsSession,
  spendLogsSessionInput,
  spendLogsSummaryStream,
  spendLogsUi,
  spendLogsUiInput,
  spendLogsV2Input,
} from "@spendlens/core";
import type { TRPCRouterRecord } from "@trpc/server";
import * as R from "../responses.ts";
import { streamOr } from "../stream.ts";
import { scopedReadProcedure } from "../trpc.ts";

/**
 * The streamed summary's elements are the REST route's (`spendLogsRestShape`: api_keys spread beside
 * the fixed fields); tRPC's are SpendLogDay, so each is turned back, one at a time.
 */
async function* summaryDays(elements: AsyncIterable<unknown>): AsyncGenerator<SpendLogDay, void, undefined> {
  for await (const el of elements) {
    const { users, models, spend, startTime, ...api_keys } = el as Record<string, unknown>;
    yield {
      date: startTime as string,
      spend: spend as number,
      users: users as Record<string, number>,
      models: models as Record<string, number>,
      api_keys: api_keys as Record<string, number>,
    };
  }
}

export const logsRouter = {
  spendLogsUi: scopedReadProcedure
    .meta({
      rest: { method: "GET", path: "/spend/logs/ui", response: R.spendLogsUiResponse },
      summary: "Spend logs between two UTC datetimes, filtered and paginated, newest first",
      heavy: true,
    })
    .input(spendLogsUiInput)
    .query(({ ctx, input }) => spendLogsUi(ctx.db, ctx.scope, input)),

  spendLogDetail: scopedReadProcedure
    .meta({
      cli: { name: "spend-log" },
      rest: { method: "GET", path: "/spend/logs/ui/{request_id}", response: R.spendLogDetailResponse },
      summary: "One spend log with its payload (messages, response, request), or null",
    })
    .input(spendLogDetailInput)
    .query(({ ctx, input }) => spendLogDetail(ctx.db, ctx.scope, input)),

  spendLogsSession: scopedReadProcedure
    .meta({
      cli: { name: "spend-logs-session", args: ["session_id"] },
      rest: { method: "GET", path: "/spend/logs/session/ui", response: R.spendLogsUiResponse },
      summary: "A session's spend logs, oldest first, paginated",
    })
    .input(spendLogsSessionInput)
    .query(({ ctx, input }) => spendLogsSession(ctx.db, ctx.scope, input)),

  spendLogsV2: scopedReadProcedure
    .meta({
      rest: { method: "GET", path: "/spend/logs/v2", response: R.spendLogsUiResponse },
      summary: "The /spend/logs/ui query with start_date/end_date as days or datetimes",
    })
    .input(spendLogsV2Input)
    .query(({ ctx, input }) => spendLogsUi(ctx.db, ctx.scope, input)),

  /**
   * tRPC answers `{mode: "summary", days}` or `{mode: "logs", data, truncated, limit}`; the REST route
   * answers the seed's bare list (at most 1000 rows in the list modes, documented in docs/spend-logs.md).
   */
  spendLogs: scopedReadProcedure
    .meta({
      rest: { method: "GET", path: "/spend/logs", output: spendLogsRestShape, response: R.spendLogsResponse },
      summary:
        "Spend logs by api_key / request_id / user_id (max 1000), or a per-day summary over a date range",
      heavy: true,
      streamed: true,
    })
    .input(spendLogsInput)
    // REST: the per-day summary is streamed day by day from the rollups (core logs/spendLogsStream.ts).
    .query(({ ctx, input }) =>
      streamOr(
        ctx,
        () => spendLogs(ctx.db, ctx.scope, input),
        () => spendLogsSummaryStream(ctx.db, ctx.scope, input),
        (days) => ({ mode: "summary", days: summaryDays(days) }),
      ),
    ),

  /** Keyset pages (docs/analytics.md): `next_cursor` for the next page, `total` only with include_total. */
  page: scopedReadProcedure
    .meta({
      cli: { name: "logs-page" },
      rest: { method: "GET", path: "/spendlens/logs", response: R.logsPageResponse },
      summary: "Spend logs newest first, one keyset page at a time (cursor), exact total when asked",
      heavy: true,
    })
    .input(logsPageInput)
    .query(({ ctx, input }) => logsPage(ctx.db, ctx.scope, input)),
} satisfies TRPCRouterRecord;
