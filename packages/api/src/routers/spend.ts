import {
  globalAllEndUsers,
  globalSpend,
  globalSpendEndUsers,
  globalSpendEndUsersInput,
  globalSpendKeys,
  globalSpendKeysInput,
  globalSpendLogs,
  globalSpendLogsInput,
  globalSpendModels,
  globalSpendModelsInput,
  globalSpendTeams,
  spendKeys,
  spendUsers,
  spendUsersInput,
  teamList,
  teamListInput,
} from "@spendlens/core";
import type { TRPCRouterRecord } from "@trpc/server";
import { z } from "zod";
import * as R from "../responses.ts";
import { adminReadProcedure, scopedReadProcedure } from "../trpc.ts";

const noInput = z.object({}).optional();

export const spendRouter = {
  globalSpend: adminReadProcedure
    .meta({
      rest: { method: "GET", path: "/global/spend", response: R.globalSpendResponse },
      summary: "Total spend over the last 30 days and the max budget",
    })
    .input(z.object({}).optional())
    .query(({ ctx }) => globalSpend(ctx.db, ctx.scope, ctx.config)),

  spendKeys: scopedReadProcedure
    .meta({
      rest: { method: "GET", path: "/spend/keys", response: R.keyRowsResponse },
      summary: "Every key with its spend, highest first (internal users: their own keys)",
      heavy: true,
    })
    .input(noInput)
    .query(({ ctx }) => spendKeys(ctx.db, ctx.scope)),

  spendUsers: scopedReadProcedure
    .meta({
      rest: { method: "GET", path: "/spend/users", response: R.userRowsResponse },
      summary: "Every user with their spend, or one user's row (internal users: themselves)",
      heavy: true,
    })
    .input(spendUsersInput)
    .query(({ ctx, input }) => spendUsers(ctx.db, ctx.scope, input)),

  teamList: scopedReadProcedure
    .meta({
      rest: { method: "GET", path: "/spendlens/teams", response: R.teamListResponse },
      summary:
        "Every team with its alias in one answer (internal users: the teams of their own keys and those listing them as a member)",
    })
    .input(teamListInput)
    .query(({ ctx }) => teamList(ctx.db, ctx.scope)),

  globalSpendLogs: scopedReadProcedure
    .meta({
      rest: { method: "GET", path: "/global/spend/logs", response: R.dailySpendResponse },
      summary:
        "Spend per day over the last 30 days, optionally for one key (internal users: their own, per key)",
    })
    .input(globalSpendLogsInput)
    .query(({ ctx, input }) => globalSpendLogs(ctx.db, ctx.scope, input)),

  globalSpendKeys: scopedReadProcedure
    .meta({
      rest: { method: "GET", path: "/global/spend/keys", response: R.topKeysResponse },
      summary: "Top keys by spend over the last 30 days, with key_alias and key_name",
    })
    .input(globalSpendKeysInput)
    .query(({ ctx, input }) => globalSpendKeys(ctx.db, ctx.scope, input)),

  globalSpendModels: scopedReadProcedure
    .meta({
      rest: { method: "GET", path: "/global/spend/models", response: R.topModelsResponse },
      summary: "Top models by spend over the last 30 days (default 10)",
    })
    .input(globalSpendModelsInput)
    .query(({ ctx, input }) => globalSpendModels(ctx.db, ctx.scope, input)),

  globalSpendTeams: adminReadProcedure
    .meta({
      rest: { method: "GET", path: "/global/spend/teams", response: R.teamsSpendResponse },
      summary: "Spend per day per team alias over the last 30 days; top 10 teams",
    })
    .input(noInput)
    .query(({ ctx }) => globalSpendTeams(ctx.db, ctx.scope)),

  globalAllEndUsers: adminReadProcedure
    .meta({
      rest: { method: "GET", path: "/global/all_end_users", response: R.endUsersListResponse },
      summary: "Every distinct end user",
      heavy: true,
    })
    .input(noInput)
    .query(({ ctx }) => globalAllEndUsers(ctx.db, ctx.scope)),

  globalSpendEndUsers: adminReadProcedure
    .meta({
      rest: { method: "POST", path: "/global/spend/end_users", response: R.endUsersSpendResponse },
      summary: "Top 100 end users by spend between startTime and endTime (default: last 30 days)",
    })
    .input(globalSpendEndUsersInput)
    .query(({ ctx, input }) => globalSpendEndUsers(ctx.db, ctx.scope, input)),
} satisfies TRPCRouterRecord;
