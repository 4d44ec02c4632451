import type { TRPCRouterRecord } from "@trpc/server";
import { z } from "zod";
import { authedProcedure } from "../trpc.ts";

export const authRouter = {
  /**
   * Who the key is: its role and user. The dashboard decides from this which views to show, so an
   * internal user is never offered an admin-only report.
   */
  whoami: authedProcedure
    .meta({ cli: { name: "whoami" }, summary: "The caller's role and user id (null for the master key)" })
    .input(z.object({}).nullish())
    .query(({ ctx }) => ({ role: ctx.caller.role, user_id: ctx.caller.userId })),
} satisfies TRPCRouterRecord;
