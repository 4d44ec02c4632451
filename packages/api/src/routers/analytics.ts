import { analyticsQuery, analyticsQueryInput } from "@spendlens/core";
import type { TRPCRouterRecord } from "@trpc/server";
import * as R from "../responses.ts";
import { scopedReadProcedure } from "../trpc.ts";

/**
 * The flexible analytics query (docs/analytics.md). The same procedure input is served twice over REST:
 * GET /spendlens/analytics with a query string (lists comma separated) and POST with a JSON body (lists
 * as arrays, filters may hold null).
 */
export const analyticsRouter = {
  query: scopedReadProcedure
    .meta({
      rest: { method: "GET", path: "/spendlens/analytics", response: R.analyticsResponse },
      summary:
        "Spend, requests and tokens by any dimensions and an hour/day/week/month bucket in a time zone, filtered",
      heavy: true,
    })
    .input(analyticsQueryInput)
    .query(({ ctx, input }) => analyticsQuery(ctx.db, ctx.scope, input)),

  queryPost: scopedReadProcedure
    .meta({
      rest: { method: "POST", path: "/spendlens/analytics", response: R.analyticsResponse },
      summary: "analytics.query with a JSON body (POST /spendlens/analytics)",
      heavy: true,
    })
    .input(analyticsQueryInput)
    .query(({ ctx, input }) => analyticsQuery(ctx.db, ctx.scope, input)),
} satisfies TRPCRouterRecord;
