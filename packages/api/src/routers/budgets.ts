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
import { adminRead, get } from "../define.ts";
import * as R from "../responses.ts";
import { authedProcedure, scopedReadProcedure } from "../trpc.ts";

export const budgetsRouter = {
  /** Any valid key (as the original): provider spend is a gateway-wide counter, not any one user's data. */
  providerBudgets: authedProcedure
    .meta(
      get(
        "/provider/budgets",
        R.providerBudgetsResponse,
        "Per provider: budget_limit, time_period, spend in the current window, budget_reset_at",
        // Opening a provider's rolling window persists it (every replica then agrees): a write on read.
        { primary: true },
      ),
    )
    .input(z.object({}).nullish())
    .query(({ ctx }) => providerBudgets(ctx.db, ALL, ctx.config)),

  /** Internal users see their own user's and keys' budgets only. */
  budgetStatus: scopedReadProcedure
    .meta(
      get(
        "/budget/status",
        R.budgetStatusResponse,
        "Every budget (keys, users, teams, customers, organizations, providers): spend in the current window, limit, reset, burn rate, projection",
        // Provider windows, as above.
        { cli: { name: "budgets" }, primary: true },
      ),
    )
    .input(budgetStatusInput.optional())
    .query(({ ctx, input }) => budgetStatus(ctx.db, ctx.scope, ctx.config, input ?? {})),

  budgetAlerts: adminRead(
    get(
      "/budget/alerts",
      R.budgetAlertsResponse,
      "The budget webhook outbox: each event, its delivery attempts and when it was delivered",
    ),
    budgetAlertsInput.optional(),
    (db, scope, input) => listBudgetAlerts(db, scope, input ?? {}),
  ),
} satisfies TRPCRouterRecord;
