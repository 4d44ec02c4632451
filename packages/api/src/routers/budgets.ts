import type { TRPCRouterRecord } from "@trpc/server";

export const budgetsRouter = {} satisfies TRPCRouterRecord;
