import type { TRPCRouterRecord } from "@trpc/server";

export const pricingRouter = {} satisfies TRPCRouterRecord;
