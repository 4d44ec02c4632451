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
import { get, scopedRead } from "../define.ts";
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
  spendLogsUi: scopedRead(
    get(
      "/spend/logs/ui",
      R.spendLogsUiResponse,
      "Spend logs between two UTC datetimes, filtered and paginated, newest first",
      { heavy: true },
    ),
    spendLogsUiInput,
    spendLogsUi,
  ),

  spendLogDetail: scopedRead(
    get(
      "/spend/logs/ui/{request_id}",
      R.spendLogDetailResponse,
      "One spend log with its payload (messages, response, request), or null",
      { cli: { name: "spend-log" } },
    ),
    spendLogDetailInput,
    spendLogDetail,
  ),

  spendLogsSession: scopedRead(
    get("/spend/logs/session/ui", R.spendLogsUiResponse, "A session's spend logs, oldest first, paginated", {
      cli: { name: "spend-logs-session", args: ["session_id"] },
    }),
    spendLogsSessionInput,
    spendLogsSession,
  ),

  spendLogsV2: scopedRead(
    get(
      "/spend/logs/v2",
      R.spendLogsUiResponse,
      "The /spend/logs/ui query with start_date/end_date as days or datetimes",
    ),
    spendLogsV2Input,
    spendLogsUi,
  ),

  /**
   * tRPC answers `{mode: "summary", days}` or `{mode: "logs", data, truncated, limit}`; the REST route
   * answers the original's bare list (at most 1000 rows in the list modes, documented in docs/spend-logs.md).
   */
  spendLogs: scopedReadProcedure
    .meta(
      get(
        "/spend/logs",
        R.spendLogsResponse,
        "Spend logs by api_key / request_id / user_id (max 1000), or a per-day summary over a date range",
        { rest: { output: spendLogsRestShape }, heavy: true, streamed: true },
      ),
    )
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
  page: scopedRead(
    get(
      "/spendlens/logs",
      R.logsPageResponse,
      "Spend logs newest first, one keyset page at a time (cursor), exact total when asked",
      { cli: { name: "logs-page" }, heavy: true },
    ),
    logsPageInput,
    logsPage,
  ),
} satisfies TRPCRouterRecord;
