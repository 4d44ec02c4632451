import {
  ALL,
  budgetAlertsInput,
  budgetStatus,
  budgetStatusInput,
  listBudgetAlerts,
  providerBudgets,
} from "@spendlens/core";
import type { TRPCRouterRecord } from "@trpc/server";
import { z } from "zod";
import * as R from "../responses.ts";
import { adminReadProcedure, authedProcedure, scopedReadProcedure } from "../trpc.ts";

export const budgetsRouter = {
  /** Any valid key (as the seed): provider spend is a gateway-wide counter, not any one user's data. */
  providerBudgets: authedProcedure
    .meta({
      rest: { method: "GET", path: "/provider/budgets", response: R.providerBudgetsResponse },
      summary: "Per provider: budget_limit, time_period, spend in the current window, budget_reset_at",
      // Opening a provider's rolling window persists it (every replica then agrees): a write on read.
      primary: true,
    })
    .input(z.object({}).nullish())
    .query(({ ctx }) => providerBudgets(ctx.db, ALL, ctx.config)),

  /** Internal users see their own user's and keys' budgets only. */
  budgetStatus: scopedReadProcedure
    .meta({
      cli: { name: "budgets" },
      rest: { method: "GET", path: "/budget/status", response: R.budgetStatusResponse },
      summary:
        "Every budget (keys, users, teams, customers, organizations, providers): spend in the current window, limit, reset, burn rate, projection",
      // Provider windows, as above.
      primary: true,
    })
    .input(budgetStatusInput.optional())
    .query(({ ctx, input }) => budgetStatus(ctx.db, ctx.scope, ctx.config, input ?? {})),

  budgetAlerts: adminReadProcedure
    .meta({
      rest: { method: "GET", path: "/budget/alerts", response: R.budgetAlertsResponse },
      summary: "The budget webhook outbox: each event, its delivery attempts and when it was delivered",
    })
    .input(budgetAlertsInput.optional())
    .query(({ ctx, input }) => listBudgetAlerts(ctx.db, ctx.scope, input ?? {})),
} satisfies TRPCRouterRecord;
