import { ALL, calculateSpend, spendCalculateInput } from "@spendlens/core";
import type { TRPCRouterRecord } from "@trpc/server";
import * as R from "../responses.ts";
import { authedProcedure } from "../trpc.ts";

export const pricingRouter = {
  /** Any valid key (as the original). Reads no data: only the config's prices and the price table. */
  spendCalculate: authedProcedure
    .meta({
      rest: {
        method: "POST",
        path: "/spend/calculate",
        input: ({ body }) => body ?? {},
        response: R.spendCalculationResponse,
      },
      summary:
        "Cost of a call: model + messages (before it) or completion_response (after it), with a breakdown",
      // A long conversation is a big body, and counting its tokens is CPU work: the large body
      // limit, and one of the heavy slots.
      largeBody: true,
      heavy: true,
    })
    .input(spendCalculateInput)
    .mutation(({ ctx, input }) => calculateSpend(ctx.db, ALL, input, ctx.config)),
} satisfies TRPCRouterRecord;
