import {
  type SpendReport,
  spendByProvider,
  spendByProviderInput,
  spendReport,
  spendReportInput,
  spendReportStream,
} from "@spendlens/core";
import type { TRPCRouterRecord } from "@trpc/server";
import * as R from "../responses.ts";
import { streamOr } from "../stream.ts";
import { adminReadProcedure, scopedReadProcedure } from "../trpc.ts";

export const reportsRouter = {
  spendProvider: scopedReadProcedure
    .meta({
      rest: { method: "GET", path: "/global/spend/provider", response: R.providerSpendResponse },
      summary:
        "Spend per provider (model_id → deployment → provider), Unknown last (internal users: their own)",
    })
    .input(spendByProviderInput)
    .query(({ ctx, input }) => spendByProvider(ctx.db, ctx.scope, input, ctx.config)),

  /**
   * tRPC: `{group_by, data}`, group_by naming the shape of data; REST: the seed's bare array (data),
   * streamed day by day (or key by key) from a cursor.
   */
  spendReport: adminReadProcedure
    .meta({
      rest: {
        method: "GET",
        path: "/global/spend/report",
        output: (o: SpendReport) => o.data,
        response: R.spendReportResponse,
      },
      summary: "Daily spend per team or customer, or spend per api_key with per-model cost and tokens",
    })
    .input(spendReportInput)
    .query(({ ctx, input }) =>
      streamOr(
        ctx,
        () => spendReport(ctx.db, ctx.scope, input),
        () => {
          const s = spendReportStream(ctx.db, ctx.scope, input);
          return { items: () => s.items(), csvColumns: s.columns };
        },
      ),
    ),
} satisfies TRPCRouterRecord;
