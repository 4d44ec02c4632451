import {
  logsPage,
  logsPageInput,
  spendLogs,
  spendLogsInput,
  spendLogsRestShape,
  spendLogsSummaryStream,
  spendLogsUi,
  spendLogsUiInput,
} from "@spendlens/core";
import type { TRPCRouterRecord } from "@trpc/server";
import * as R from "../responses.ts";
import { streamOr } from "../stream.ts";
import { scopedReadProcedure } from "../trpc.ts";

export const logsRouter = {
  spendLogsUi: scopedReadProcedure
    .meta({
      rest: { method: "GET", path: "/spend/logs/ui", response: R.spendLogsUiResponse },
      summary: "Spend logs between two UTC datetimes, filtered and paginated, newest first",
    })
    .input(spendLogsUiInput)
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
    })
    .input(spendLogsInput)
    // REST: the per-day summary is streamed day by day from the rollups (core logs/spendLogsStream.ts).
    .query(({ ctx, input }) =>
      streamOr(
        ctx,
        () => spendLogs(ctx.db, ctx.scope, input),
        () => spendLogsSummaryStream(ctx.db, ctx.scope, input),
      ),
    ),

  /** Keyset pages (docs/analytics.md): `next_cursor` for the next page, `total` only with include_total. */
  page: scopedReadProcedure
    .meta({
      rest: { method: "GET", path: "/spendlens/logs", response: R.logsPageResponse },
      summary: "Spend logs newest first, one keyset page at a time (cursor), exact total when asked",
    })
    .input(logsPageInput)
    .query(({ ctx, input }) => logsPage(ctx.db, ctx.scope, input)),
} satisfies TRPCRouterRecord;
