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
  litellmActivityByModelGroup,
  litellmActivityExceptions,
  litellmExceptionsByDeployment,
  litellmGlobalActivity,
} from "@spendlens/core";
import type { TRPCRouterRecord } from "@trpc/server";
import { adminRead, get, scopedRead } from "../define.ts";
import * as R from "../responses.ts";

/** tRPC answers carry ISO days in `date`; the REST routes show the original's 'Jan 22' there and add `date_iso`. */
export const activityRouter = {
  globalActivity: scopedRead(
    get(
      "/global/activity",
      R.activityResponse,
      "Requests and total tokens per day, and their sums (internal users: their own)",
      { cli: { name: "activity" }, rest: { output: litellmGlobalActivity } },
    ),
    activityInput,
    globalActivity,
  ),

  globalActivityModel: scopedRead(
    get(
      "/global/activity/model",
      R.activityByModelResponse,
      "Requests and total tokens per day per model group, top 10 groups (internal users: their own)",
      { cli: { name: "activity-model" }, rest: { output: litellmActivityByModelGroup } },
    ),
    activityInput,
    globalActivityByModelGroup,
  ),

  globalActivityExceptions: adminRead(
    get("/global/activity/exceptions", R.exceptionsResponse, "429 errors per day for one model group", {
      cli: { name: "activity-exceptions" },
      rest: { output: litellmActivityExceptions },
    }),
    activityExceptionsInput,
    globalActivityExceptions,
  ),

  globalActivityExceptionsDeployment: adminRead(
    get(
      "/global/activity/exceptions/deployment",
      R.exceptionsByDeploymentResponse,
      "429 errors per day for one model group, per api_base, top 10",
      { cli: { name: "activity-exceptions-deployment" }, rest: { output: litellmExceptionsByDeployment } },
    ),
    activityExceptionsInput,
    globalActivityExceptionsByDeployment,
  ),

  cacheHits: scopedRead(
    get(
      "/global/activity/cache_hits",
      R.cacheHitsResponse,
      "Requests, cache hits, failures and cached/generated completion tokens per key alias, call type, model",
      { cli: { name: "activity-cache-hits" } },
    ),
    cacheHitsInput,
    cacheHits,
  ),

  failures: scopedRead(
    get(
      "/spendlens/activity/failures",
      R.activityFailuresResponse,
      "Requests, successes and failures (status 'failure') per UTC day, model group and model (internal users: their own)",
      { heavy: true },
    ),
    activityFailuresInput,
    activityFailures,
  ),
} satisfies TRPCRouterRecord;
