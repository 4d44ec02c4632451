import {
  allTagNames,
  globalSpendTags,
  globalSpendTagsInput,
  spendTags,
  spendTagsInput,
} from "@spendlens/core";
import type { TRPCRouterRecord } from "@trpc/server";
import { z } from "zod";
import * as R from "../responses.ts";
import { adminReadProcedure } from "../trpc.ts";

export const tagsRouter = {
  spendTags: adminReadProcedure
    .meta({
      rest: { method: "GET", path: "/spend/tags", response: R.tagSpendResponse },
      summary: "Spend and request count per request tag, all time or a date range",
      heavy: true,
    })
    .input(spendTagsInput.optional())
    .query(({ ctx, input }) => spendTags(ctx.db, ctx.scope, input ?? {})),

  allTagNames: adminReadProcedure
    .meta({
      cli: { name: "tag-names" },
      rest: { method: "GET", path: "/global/spend/all_tag_names", response: R.tagNamesResponse },
      summary: "Every distinct request tag",
    })
    .input(z.object({}).optional())
    .query(({ ctx }) => allTagNames(ctx.db, ctx.scope)),

  globalSpendTags: adminReadProcedure
    .meta({
      rest: { method: "GET", path: "/global/spend/tags", response: R.globalSpendTagsResponse },
      summary: "Spend and log count per tag in a date range (tags: comma separated or all-tags)",
      heavy: true,
    })
    .input(globalSpendTagsInput)
    .query(({ ctx, input }) => globalSpendTags(ctx.db, ctx.scope, input)),
} satisfies TRPCRouterRecord;
