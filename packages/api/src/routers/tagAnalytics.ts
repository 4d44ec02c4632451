import * as core from "@spendlens/core";
import type { TRPCRouterRecord } from "@trpc/server";
import type { ZodType } from "zod";
import { get, type RouteExtra, scopedRead } from "../define.ts";
import * as R from "../responses.ts";

/** LiteLLM's tag / User-Agent analytics (core tags/tagAnalytics.ts). `tag_filters` may repeat. */
const multi = ["tag_filters"] as const;

/** `GET /tag/<path>`, whose `tag_filters` may repeat. */
const tag = (path: string, response: ZodType, summary: string, extra: RouteExtra = {}) =>
  get(`/tag/${path}`, response, summary, { ...extra, rest: { multi } });

export const tagAnalyticsRouter = {
  distinct: scopedRead(
    get(
      "/tag/distinct",
      R.tagDistinctResponse,
      "User-Agent tags and tags without ':' (at most 250), most requested first",
    ),
    core.tagDistinctInput.optional(),
    (db, scope) => core.tagDistinct(db, scope),
  ),
  dau: scopedRead(
    tag("dau", R.tagDauResponse, "Daily active users (key owners) per tag"),
    core.tagDauInput,
    core.tagDau,
  ),
  wau: scopedRead(
    tag("wau", R.tagPeriodResponse, "Weekly active users per tag, the last 7 weeks"),
    core.tagWauInput,
    core.tagWau,
  ),
  mau: scopedRead(
    tag(
      "mau",
      R.tagPeriodResponse,
      "Monthly (30-day) active users per tag, the last `months` (1..12, default 7)",
    ),
    core.tagMauInput,
    core.tagMau,
  ),
  summary: scopedRead(
    tag(
      "summary",
      R.tagSummaryResponse,
      "Per tag: unique users, requests (successful, failed), tokens, spend",
    ),
    core.tagSummaryInput,
    core.tagSummary,
  ),
  perUser: scopedRead(
    tag(
      "user-agent/per-user-analytics",
      R.tagPerUserResponse,
      "Per key owner over the last 30 days: requests, tokens, spend, paginated",
      { cli: { name: "tag-per-user" } },
    ),
    core.tagPerUserInput,
    core.tagPerUserAnalytics,
  ),
} satisfies TRPCRouterRecord;
