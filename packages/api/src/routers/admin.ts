import { refreshSpend, resetSpend } from "@spendlens/core";
import type { TRPCRouterRecord } from "@trpc/server";
import { z } from "zod";
import { route } from "../define.ts";
import * as R from "../responses.ts";
import { adminWriteProcedure } from "../trpc.ts";

export const adminRouter = {
  globalSpendReset: adminWriteProcedure
    .meta(
      route(
        "POST",
        "/global/spend/reset",
        R.statusMessageResponse,
        "Set spend to 0 on every key and team (logs untouched); proxy_admin only",
      ),
    )
    .input(z.object({}).optional().nullable())
    .mutation(({ ctx }) => resetSpend(ctx.db, ctx.scope)),

  globalSpendRefresh: adminWriteProcedure
    .meta(
      route(
        "POST",
        "/global/spend/refresh",
        R.statusMessageResponse,
        "Bring derived spend data up to date (and LiteLLM's materialized MonthlyGlobalSpend); proxy_admin only",
      ),
    )
    .input(z.object({}).optional().nullable())
    .mutation(({ ctx }) => refreshSpend(ctx.db, ctx.scope)),
} satisfies TRPCRouterRecord;
