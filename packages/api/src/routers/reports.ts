import {
  type SpendReport,
  spendByProvider,
  spendByProviderInput,
  spendReport,
  spendReportInput,
} from "@spendlens/core";
import type { TRPCRouterRecord } from "@trpc/server";
import { adminReadProcedure, scopedReadProcedure } from "../trpc.ts";

export const reportsRouter = {
  spendProvider: scopedReadProcedure
    .meta({
      rest: { method: "GET", path: "/global/spend/provider" },
      summary:
        "Spend per provider (model_id → deployment → provider), Unknown last (internal users: their own)",
    })
    .input(spendByProviderInput)
    .query(({ ctx, input }) => spendByProvider(ctx.db, ctx.scope, input, ctx.config)),

  /** tRPC: `{group_by, data}`, group_by naming the shape of data; REST: the seed's bare array (data). */
  spendReport: adminReadProcedure
    .meta({
      rest: { method: "GET", path: "/global/spend/report", output: (o: SpendReport) => o.data },
      summary: "Daily spend per team or customer, or spend per api_key with per-model cost and tokens",
    })
    .input(spendReportInput)
    .query(({ ctx, input }) => spendReport(ctx.db, ctx.scope, input)),
} satisfies TRPCRouterRecord;
