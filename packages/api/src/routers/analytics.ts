import { analyticsQuery, analyticsQueryInput } from "@spendlens/core";
import type { TRPCRouterRecord } from "@trpc/server";
import { get, route, scopedRead } from "../define.ts";
import * as R from "../responses.ts";

/**
 * The flexible analytics query (docs/analytics.md). The same procedure input is served twice over REST:
 * GET /spendlens/analytics with a query string (lists comma separated) and POST with a JSON body (lists
 * as arrays, filters may hold null).
 */
export const analyticsRouter = {
  query: scopedRead(
    get(
      "/spendlens/analytics",
      R.analyticsResponse,
      "Spend, requests and tokens by any dimensions and an hour/day/week/month bucket in a time zone, filtered",
      { heavy: true },
    ),
    analyticsQueryInput,
    analyticsQuery,
  ),

  queryPost: scopedRead(
    route(
      "POST",
      "/spendlens/analytics",
      R.analyticsResponse,
      "analytics.query with a JSON body (POST /spendlens/analytics)",
      {
        heavy: true,
      },
    ),
    analyticsQueryInput,
    analyticsQuery,
  ),
} satisfies TRPCRouterRecord;
