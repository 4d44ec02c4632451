import type { TRPCRouterRecord } from "@trpc/server";

export const logsRouter = {} satisfies TRPCRouterRecord;
