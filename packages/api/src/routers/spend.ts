import { globalSpend } from "@spendlens/core";
import type { TRPCRouterRecord } from "@trpc/server";
import { z } from "zod";
import { adminReadProcedure } from "../trpc.ts";

export const spendRouter = {
  globalSpend: adminReadProcedure
    .meta({
      rest: { method: "GET", path: "/global/spend" },
      summary: "Total spend over the last 30 days and the max budget",
    })
    .input(z.object({}).optional())
    .query(({ ctx }) => globalSpend(ctx.db, ctx.scope, ctx.config)),
} satisfies TRPCRouterRecord;
