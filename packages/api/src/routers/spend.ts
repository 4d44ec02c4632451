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
import { adminRead, get, route, scopedRead } from "../define.ts";
import * as R from "../responses.ts";
import { adminReadProcedure } from "../trpc.ts";

const noInput = z.object({}).optional();

export const spendRouter = {
  globalSpend: adminReadProcedure
    .meta(get("/global/spend", R.globalSpendResponse, "Total spend over the last 30 days and the max budget"))
    .input(noInput)
    .query(({ ctx }) => globalSpend(ctx.db, ctx.scope, ctx.config)),

  spendKeys: scopedRead(
    get(
      "/spend/keys",
      R.keyRowsResponse,
      "Every key with its spend, highest first (internal users: their own keys)",
      {
        heavy: true,
      },
    ),
    noInput,
    (db, scope) => spendKeys(db, scope),
  ),

  spendUsers: scopedRead(
    get(
      "/spend/users",
      R.userRowsResponse,
      "Every user with their spend, or one user's row (internal users: themselves)",
      { heavy: true },
    ),
    spendUsersInput,
    spendUsers,
  ),

  teamList: scopedRead(
    get(
      "/spendlens/teams",
      R.teamListResponse,
      "Every team with its alias in one answer (internal users: the teams of their own keys and those listing them as a member)",
    ),
    teamListInput,
    (db, scope) => teamList(db, scope),
  ),

  globalSpendLogs: scopedRead(
    get(
      "/global/spend/logs",
      R.dailySpendResponse,
      "Spend per day over the last 30 days, optionally for one key (internal users: their own, per key)",
    ),
    globalSpendLogsInput,
    globalSpendLogs,
  ),

  globalSpendKeys: scopedRead(
    get(
      "/global/spend/keys",
      R.topKeysResponse,
      "Top keys by spend over the last 30 days, with key_alias and key_name",
    ),
    globalSpendKeysInput,
    globalSpendKeys,
  ),

  globalSpendModels: scopedRead(
    get(
      "/global/spend/models",
      R.topModelsResponse,
      "Top models by spend over the last 30 days (default 10)",
    ),
    globalSpendModelsInput,
    globalSpendModels,
  ),

  globalSpendTeams: adminRead(
    get(
      "/global/spend/teams",
      R.teamsSpendResponse,
      "Spend per day per team alias over the last 30 days; top 10 teams",
    ),
    noInput,
    (db, scope) => globalSpendTeams(db, scope),
  ),

  globalAllEndUsers: adminRead(
    get("/global/all_end_users", R.endUsersListResponse, "Every distinct end user", { heavy: true }),
    noInput,
    (db, scope) => globalAllEndUsers(db, scope),
  ),

  globalSpendEndUsers: adminRead(
    route(
      "POST",
      "/global/spend/end_users",
      R.endUsersSpendResponse,
      "Top 100 end users by spend between startTime and endTime (default: last 30 days)",
    ),
    globalSpendEndUsersInput,
    globalSpendEndUsers,
  ),
} satisfies TRPCRouterRecord;
