import {
  agentDailyActivity,
  agentDailyActivityInput,
  customerDailyActivity,
  customerDailyActivityInput,
  organizationDailyActivity,
  organizationDailyActivityInput,
  tagDailyActivity,
  tagDailyActivityInput,
  teamDailyActivity,
  teamDailyActivityInput,
  userDailyActivity,
  userDailyActivityAggregated,
  userDailyActivityAggregatedInput,
  userDailyActivityInput,
} from "@spendlens/core";
import type { TRPCRouterRecord } from "@trpc/server";
import * as R from "../responses.ts";
import { scopedReadProcedure } from "../trpc.ts";

/**
 * LiteLLM's Usage-page routes: `{results: [{date, metrics, breakdown}], metadata}` per entity kind, from
 * spendlens's activity rollups (core activity/dailyActivity.ts). Internal users see their own rows.
 */
export const dailyActivityRouter = {
  user: scopedReadProcedure
    .meta({
      cli: { name: "daily-activity-user" },
      rest: { method: "GET", path: "/user/daily/activity", response: R.dailyActivityResponse },
      summary: "Daily activity per user: metrics and breakdowns per date, paginated (LiteLLM's shape)",
    })
    .input(userDailyActivityInput)
    .query(({ ctx, input }) => userDailyActivity(ctx.db, ctx.scope, input)),

  userAggregated: scopedReadProcedure
    .meta({
      cli: { name: "daily-activity-user-aggregated" },
      rest: { method: "GET", path: "/user/daily/activity/aggregated", response: R.dailyActivityResponse },
      summary: "Daily activity per user, every row at once (no pagination)",
    })
    .input(userDailyActivityAggregatedInput)
    .query(({ ctx, input }) => userDailyActivityAggregated(ctx.db, ctx.scope, input)),

  team: scopedReadProcedure
    .meta({
      cli: { name: "daily-activity-team" },
      rest: { method: "GET", path: "/team/daily/activity", response: R.dailyActivityResponse },
      summary: "Daily activity per team (team_ids, exclude_team_ids), paginated",
    })
    .input(teamDailyActivityInput)
    .query(({ ctx, input }) => teamDailyActivity(ctx.db, ctx.scope, input)),

  organization: scopedReadProcedure
    .meta({
      cli: { name: "daily-activity-organization" },
      rest: { method: "GET", path: "/organization/daily/activity", response: R.dailyActivityResponse },
      summary: "Daily activity per organization (organization_ids, exclude_organization_ids), paginated",
    })
    .input(organizationDailyActivityInput)
    .query(({ ctx, input }) => organizationDailyActivity(ctx.db, ctx.scope, input)),

  customer: scopedReadProcedure
    .meta({
      cli: { name: "daily-activity-customer" },
      rest: { method: "GET", path: "/customer/daily/activity", response: R.dailyActivityResponse },
      summary: "Daily activity per customer / end user (end_user_ids), paginated",
    })
    .input(customerDailyActivityInput)
    .query(({ ctx, input }) => customerDailyActivity(ctx.db, ctx.scope, input)),

  endUser: scopedReadProcedure
    .meta({
      cli: { name: "daily-activity-end-user" },
      rest: { method: "GET", path: "/end_user/daily/activity", response: R.dailyActivityResponse },
      summary: "The same as /customer/daily/activity (LiteLLM's alias)",
    })
    .input(customerDailyActivityInput)
    .query(({ ctx, input }) => customerDailyActivity(ctx.db, ctx.scope, input)),

  agent: scopedReadProcedure
    .meta({
      cli: { name: "daily-activity-agent" },
      rest: { method: "GET", path: "/agent/daily/activity", response: R.dailyActivityResponse },
      summary: "Daily activity per agent (agent_ids), paginated",
    })
    .input(agentDailyActivityInput)
    .query(({ ctx, input }) => agentDailyActivity(ctx.db, ctx.scope, input)),

  tag: scopedReadProcedure
    .meta({
      cli: { name: "daily-activity-tag" },
      rest: { method: "GET", path: "/tag/daily/activity", response: R.dailyActivityResponse },
      summary: "Daily activity per tag (tags): a request counts once for each of its tags, paginated",
    })
    .input(tagDailyActivityInput)
    .query(({ ctx, input }) => tagDailyActivity(ctx.db, ctx.scope, input)),
} satisfies TRPCRouterRecord;
