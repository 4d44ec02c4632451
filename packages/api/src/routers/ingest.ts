import type { TRPCRouterRecord } from "@trpc/server";

export const ingestRouter = {} satisfies TRPCRouterRecord;
