import type { TRPCRouterRecord } from "@trpc/server";

export const analyticsRouter = {} satisfies TRPCRouterRecord;
