import type { TRPCRouterRecord } from "@trpc/server";

export const reportsRouter = {} satisfies TRPCRouterRecord;
