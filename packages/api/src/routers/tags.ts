import type { TRPCRouterRecord } from "@trpc/server";

export const tagsRouter = {} satisfies TRPCRouterRecord;
