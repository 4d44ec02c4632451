import {
  activityExceptionsInput,
  activityFailures,
  activityFailuresInput,
  activityInput,
  cacheHits,
  cacheHitsInput,
  globalActivity,
  globalActivityByModelGroup,
  globalActivityExceptions,
  globalActivityExceptionsByDeployment,
  seedActivityByModelGroup,
  seedActivityExceptions,
  seedExceptionsByDeployment,
  seedGlobalActivity,
} from "@spendlens/core";
import type { TRPCRouterRecord } from "@trpc/server";
import * as R from "../responses.ts";
import { adminReadProcedure, scopedReadProcedure } from "../trpc.ts";

/** tRPC answers carry ISO days in `date`; the REST routes show the seed's 'Jan 22' there and add `date_iso`. */
export const activityRouter = {
  globalActivity: scopedReadProcedure
    .meta({
      cli: { name: "activity" },
      rest: {
        method: "GET",
        path: "/global/activity",
        output: seedGlobalActivity,
        response: R.activityResponse,
      },
      summary: "Requests and total tokens per day, and their sums (internal users: their own)",
    })
    .input(activityInput)
    .query(({ ctx, input }) => globalActivity(ctx.db, ctx.scope, input)),

  globalActivityModel: scopedReadProcedure
    .meta({
      cli: { name: "activity-model" },
      rest: {
        method: "GET",
        path: "/global/activity/model",
        output: seedActivityByModelGroup,
        response: R.activityByModelResponse,
      },
      summary: "Requests and total tokens per day per model group, top 10 groups (internal users: their own)",
    })
    .input(activityInput)
    .query(({ ctx, input }) => globalActivityByModelGroup(ctx.db, ctx.scope, input)),

  globalActivityExceptions: adminReadProcedure
    .meta({
      cli: { name: "activity-exceptions" },
      rest: {
        method: "GET",
        path: "/global/activity/exceptions",
        output: seedActivityExceptions,
        response: R.exceptionsResponse,
      },
      summary: "429 errors per day for one model group",
    })
    .input(activityExceptionsInput)
    .query(({ ctx, input }) => globalActivityExceptions(ctx.db, ctx.scope, input)),

  globalActivityExceptionsDeployment: adminReadProcedure
    .meta({
      cli: { name: "activity-exceptions-deployment" },
      rest: {
        method: "GET",
        path: "/global/activity/exceptions/deployment",
        output: seedExceptionsByDeployment,
        response: R.exceptionsByDeploymentResponse,
      },
      summary: "429 errors per day for one model group, per api_base, top 10",
    })
    .input(activityExceptionsInput)
    .query(({ ctx, input }) => globalActivityExceptionsByDeployment(ctx.db, ctx.scope, input)),

  cacheHits: scopedReadProcedure
    .meta({
      cli: { name: "activity-cache-hits" },
      rest: { method: "GET", path: "/global/activity/cache_hits", response: R.cacheHitsResponse },
      summary:
        "Requests, cache hits, failures and cached/generated completion tokens per key alias, call type, model",
    })
    .input(cacheHitsInput)
    .query(({ ctx, input }) => cacheHits(ctx.db, ctx.scope, input)),

  failures: scopedReadProcedure
    .meta({
      rest: { method: "GET", path: "/spendlens/activity/failures", response: R.activityFailuresResponse },
      summary:
        "Requests, successes and failures (status 'failure') per UTC day, model group and model (internal users: their own)",
      heavy: true,
    })
    .input(activityFailuresInput)
    .query(({ ctx, input }) => activityFailures(ctx.db, ctx.scope, input)),
} satisfies TRPCRouterRecord;
