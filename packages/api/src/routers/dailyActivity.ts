import * as core from "@spendlens/core";
import type { TRPCRouterRecord } from "@trpc/server";
import type { ZodType, z } from "zod";
import { type CoreRead, get } from "../define.ts";
import * as R from "../responses.ts";
import { streamOr } from "../stream.ts";
import { scopedReadProcedure } from "../trpc.ts";

/**
 * One Usage-page route: `GET /<path>/daily/activity`, CLI command `daily-activity-<cli>` (the entity's
 * path with `-` for `_`, and `/` after the entity's path for the aggregated route).
 */
function daily<I extends ZodType, O>(
  path: string,
  summary: string,
  input: I,
  run: CoreRead<I, O>,
  /** The answer's JSON as bytes, or as pieces of bytes (written in order, nothing between them). */
  json: CoreRead<I, Uint8Array | readonly Uint8Array[]>,
) {
  const name = `daily-activity-${path.replaceAll("_", "-").replaceAll("/", "-")}`;
  const rest = path.replace(/^([^/]+)/, "/$1/daily/activity");
  // REST writes the page's JSON bytes as they are (a cached page is never serialized again, core
  // activity/pageCache.ts); tRPC and in-process callers get the value.
  return scopedReadProcedure
    .meta(get(rest, R.dailyActivityResponse, summary, { cli: { name } }))
    .input(input)
    .query(({ ctx, input }) =>
      streamOr(
        ctx,
        async () => run(ctx.db, ctx.scope, input as z.output<I>),
        () => ({
          async *items() {
            yield await json(ctx.db, ctx.scope, input as z.output<I>);
          },
          envelope: { open: "", close: () => "" },
        }),
      ),
    );
}

/**
 * LiteLLM's Usage-page routes: `{results: [{date, metrics, breakdown}], metadata}` per entity kind, from
 * spendlens's activity rollups (core activity/dailyActivity.ts). Internal users see their own rows.
 */
export const dailyActivityRouter = {
  user: daily(
    "user",
    "Daily activity per user: metrics and breakdowns per date, paginated (LiteLLM's shape)",
    core.userDailyActivityInput,
    core.userDailyActivity,
    core.userDailyActivityJson,
  ),
  // REST writes the answer's JSON bytes as they are (a kept answer is one buffer, one built now the
  // pieces it was assembled from; core activity/aggregatedCache.ts); tRPC and in-process callers get the value.
  userAggregated: daily(
    "user/aggregated",
    "Daily activity per user, every row at once (no pagination)",
    core.userDailyActivityAggregatedInput,
    core.userDailyActivityAggregated,
    core.userDailyActivityAggregatedJson,
  ),
  team: daily(
    "team",
    "Daily activity per team (team_ids, exclude_team_ids), paginated",
    core.teamDailyActivityInput,
    core.teamDailyActivity,
    core.teamDailyActivityJson,
  ),
  organization: daily(
    "organization",
    "Daily activity per organization (organization_ids, exclude_organization_ids), paginated",
    core.organizationDailyActivityInput,
    core.organizationDailyActivity,
    core.organizationDailyActivityJson,
  ),
  customer: daily(
    "customer",
    "Daily activity per customer / end user (end_user_ids), paginated",
    core.customerDailyActivityInput,
    core.customerDailyActivity,
    core.customerDailyActivityJson,
  ),
  endUser: daily(
    "end_user",
    "The same as /customer/daily/activity (LiteLLM's alias)",
    core.customerDailyActivityInput,
    core.customerDailyActivity,
    core.customerDailyActivityJson,
  ),
  agent: daily(
    "agent",
    "Daily activity per agent (agent_ids), paginated",
    core.agentDailyActivityInput,
    core.agentDailyActivity,
    core.agentDailyActivityJson,
  ),
  tag: daily(
    "tag",
    "Daily activity per tag (tags): a request counts once for each of its tags, paginated",
    core.tagDailyActivityInput,
    core.tagDailyActivity,
    core.tagDailyActivityJson,
  ),
} satisfies TRPCRouterRecord;
