import {
  allTagNames,
  globalSpendTags,
  globalSpendTagsInput,
  spendTags,
  spendTagsInput,
} from "@spendlens/core";
import type { TRPCRouterRecord } from "@trpc/server";
import { z } from "zod";
import { adminRead, get } from "../define.ts";
import * as R from "../responses.ts";

export const tagsRouter = {
  spendTags: adminRead(
    get(
      "/spend/tags",
      R.tagSpendResponse,
      "Spend and request count per request tag, all time or a date range",
      {
        heavy: true,
      },
    ),
    spendTagsInput.optional(),
    (db, scope, input) => spendTags(db, scope, input ?? {}),
  ),

  allTagNames: adminRead(
    get("/global/spend/all_tag_names", R.tagNamesResponse, "Every distinct request tag", {
      cli: { name: "tag-names" },
    }),
    z.object({}).optional(),
    (db, scope) => allTagNames(db, scope),
  ),

  globalSpendTags: adminRead(
    get(
      "/global/spend/tags",
      R.globalSpendTagsResponse,
      "Spend and log count per tag in a date range (tags: comma separated or all-tags)",
      { heavy: true },
    ),
    globalSpendTagsInput,
    globalSpendTags,
  ),
} satisfies TRPCRouterRecord;
