import {
  tagDau,
  tagDauInput,
  tagDistinct,
  tagDistinctInput,
  tagMau,
  tagMauInput,
  tagPerUserAnalytics,
  tagPerUserInput,
  tagSummary,
  tagSummaryInput,
  tagWau,
  tagWauInput,
} from "@spendlens/core";
import type { TRPCRouterRecord } from "@trpc/server";
import * as R from "../responses.ts";
import { scopedReadProcedure } from "../trpc.ts";

/** LiteLLM's tag / User-Agent analytics (core tags/tagAnalytics.ts). `tag_filters` may repeat. */
const multi = ["tag_filters"] as const;

export const tagAnalyticsRouter = {
  distinct: scopedReadProcedure
    .meta({
      rest: { method: "GET", path: "/tag/distinct", response: R.tagDistinctResponse },
      summary: "User-Agent tags and tags without ':' (at most 250), most requested first",
    })
    .input(tagDistinctInput.optional())
    .query(({ ctx }) => tagDistinct(ctx.db, ctx.scope)),

  dau: scopedReadProcedure
    .meta({
      rest: { method: "GET", path: "/tag/dau", multi, response: R.tagDauResponse },
      summary: "Daily active users (key owners) per tag",
    })
    .input(tagDauInput)
    .query(({ ctx, input }) => tagDau(ctx.db, ctx.scope, input)),

  wau: scopedReadProcedure
    .meta({
      rest: { method: "GET", path: "/tag/wau", multi, response: R.tagPeriodResponse },
      summary: "Weekly active users per tag, the last 7 weeks",
    })
    .input(tagWauInput)
    .query(({ ctx, input }) => tagWau(ctx.db, ctx.scope, input)),

  mau: scopedReadProcedure
    .meta({
      rest: { method: "GET", path: "/tag/mau", multi, response: R.tagPeriodResponse },
      summary: "Monthly (30-day) active users per tag, the last `months` (1..12, default 7)",
    })
    .input(tagMauInput)
    .query(({ ctx, input }) => tagMau(ctx.db, ctx.scope, input)),

  summary: scopedReadProcedure
    .meta({
      rest: { method: "GET", path: "/tag/summary", multi, response: R.tagSummaryResponse },
      summary: "Per tag: unique users, requests (successful, failed), tokens, spend",
    })
    .input(tagSummaryInput)
    .query(({ ctx, input }) => tagSummary(ctx.db, ctx.scope, input)),

  perUser: scopedReadProcedure
    .meta({
      cli: { name: "tag-per-user" },
      rest: {
        method: "GET",
        path: "/tag/user-agent/per-user-analytics",
        multi,
        response: R.tagPerUserResponse,
      },
      summary: "Per key owner over the last 30 days: requests, tokens, spend, paginated",
    })
    .input(tagPerUserInput)
    .query(({ ctx, input }) => tagPerUserAnalytics(ctx.db, ctx.scope, input)),
} satisfies TRPCRouterRecord;
