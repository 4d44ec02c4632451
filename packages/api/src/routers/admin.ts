import { type Db, refreshSpend, resetSpend, type Scope } from "@spendlens/core";
import type { TRPCRouterRecord } from "@trpc/server";
import { z } from "zod";
import { route } from "../define.ts";
import * as R from "../responses.ts";
import { adminWriteProcedure } from "../trpc.ts";

/** A proxy_admin-only POST without input, answering `{status, message}`. */
const adminPost = <O>(path: string, summary: string, run: (db: Db, scope: Scope) => O | Promise<O>) =>
  adminWriteProcedure
    .meta(route("POST", path, R.statusMessageResponse, summary))
    .input(z.object({}).optional().nullable())
    .mutation(({ ctx }) => run(ctx.db, ctx.scope));

export const adminRouter = {
  globalSpendReset: adminPost(
    "/global/spend/reset",
    "Set spend to 0 on every key and team (logs untouched); proxy_admin only",
    resetSpend,
  ),
  globalSpendRefresh: adminPost(
    "/global/spend/refresh",
    "Bring derived spend data up to date (and LiteLLM's materialized MonthlyGlobalSpend); proxy_admin only",
    refreshSpend,
  ),
} satisfies TRPCRouterRecord;
