import {
  explainSpendReport,
  type SpendReport,
  spendByProvider,
  spendByProviderInput,
  spendReport,
  spendReportInput,
  spendReportShape,
  spendReportStream,
} from "@spendlens/core";
import type { TRPCRouterRecord } from "@trpc/server";
import { adminRead, get } from "../define.ts";
import * as R from "../responses.ts";
import { streamOr } from "../stream.ts";
import { adminReadProcedure, scopedReadProcedure } from "../trpc.ts";

/** The spend report's CSV columns per shape: its elements flattened (tabular.ts flattenRow). */
export const SPEND_REPORT_CSV_COLUMNS: Record<SpendReport["group_by"], readonly string[]> = {
  team: ["group_by_day", "team_name", "total_spend", "model", "api_key", "spend", "total_tokens"],
  customer: ["group_by_day", "customer", "total_spend", "model", "api_key", "spend", "total_tokens"],
  api_key: [
    "api_key",
    "total_cost",
    "total_input_tokens",
    "total_output_tokens",
    "model",
    "model_details.total_cost",
    "model_details.total_input_tokens",
    "model_details.total_output_tokens",
  ],
};

export const reportsRouter = {
  spendProvider: scopedReadProcedure
    .meta(
      get(
        "/global/spend/provider",
        R.providerSpendResponse,
        "Spend per provider (model_id → deployment → provider), Unknown last (internal users: their own)",
        { cli: { name: "spend-provider" }, heavy: true },
      ),
    )
    .input(spendByProviderInput)
    .query(({ ctx, input }) => spendByProvider(ctx.db, ctx.scope, input, ctx.config)),

  /**
   * tRPC: `{group_by, data}`, group_by naming the shape of data; REST: the original's bare array (data),
   * streamed day by day (or key by key) from a cursor.
   */
  spendReport: adminReadProcedure
    .meta(
      get(
        "/global/spend/report",
        R.spendReportResponse,
        "Daily spend per team or customer, or spend per api_key with per-model cost and tokens",
        {
          cli: { name: "spend-report" },
          rest: { output: (o: SpendReport) => o.data },
          heavy: true,
          streamed: true,
        },
      ),
    )
    .input(spendReportInput)
    .query(({ ctx, input }) =>
      streamOr(
        ctx,
        () => spendReport(ctx.db, ctx.scope, input),
        () => {
          const s = spendReportStream(ctx.db, ctx.scope, input);
          return { items: () => s.items(), csvColumns: SPEND_REPORT_CSV_COLUMNS[spendReportShape(input)] };
        },
        (data) => ({ group_by: spendReportShape(input), data }),
      ),
    ),

  /** The plan and SQL (with parameters) the spend report would run for the same input, not run. */
  explain: adminRead(
    get(
      "/spendlens/spend/report/explain",
      R.explainResponse,
      "The query plan and SQL text (with bound parameters) GET /global/spend/report would run",
    ),
    spendReportInput,
    explainSpendReport,
  ),
} satisfies TRPCRouterRecord;
