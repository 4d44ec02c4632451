import { ALL, providerBudgets } from "@spendlens/core";
import type { TRPCRouterRecord } from "@trpc/server";
import { z } from "zod";
import * as R from "../responses.ts";
import { authedProcedure } from "../trpc.ts";

export const budgetsRouter = {
  /** Any valid key (as the seed): provider spend is a gateway-wide counter, not any one user's data. */
  providerBudgets: authedProcedure
    .meta({
      rest: { method: "GET", path: "/provider/budgets", response: R.providerBudgetsResponse },
      summary: "Per provider: budget_limit, time_period, spend in the current window, budget_reset_at",
    })
    .input(z.object({}).nullish())
    .query(({ ctx }) => providerBudgets(ctx.db, ALL, ctx.config)),
} satisfies TRPCRouterRecord;
