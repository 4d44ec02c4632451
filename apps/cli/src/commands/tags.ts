import type { TagNames } from "@spendlens/core";
import { dayRangeOptions } from "./activity.ts";
import type { OptionSpec, ReportCommand } from "./types.ts";

const attribution: OptionSpec = {
  flags: "--attribution <how>",
  description: "split (default: a request's spend divided over its tags) or full (the seed's figures)",
};

export const tagsCommands: ReportCommand[] = [
  {
    name: "spend-tags",
    procedure: "tags.spendTags",
    summary: "Spend and request count per request tag, all time or a date range (GET /spend/tags)",
    options: [
      { flags: "--start-date <day>", description: "first day, YYYY-MM-DD (UTC); with --end-date" },
      { flags: "--end-date <day>", description: "last day, YYYY-MM-DD (UTC), included whole" },
      attribution,
    ],
  },
  {
    name: "tag-names",
    procedure: "tags.allTagNames",
    summary: "Every distinct request tag (GET /global/spend/all_tag_names)",
    view: (o: TagNames) => o.tag_names.map((tag) => ({ tag })),
  },
  {
    name: "global-spend-tags",
    procedure: "tags.globalSpendTags",
    summary: "Spend and log count per tag in a date range (GET /global/spend/tags)",
    options: [
      ...dayRangeOptions,
      { flags: "--tags <list>", description: "comma separated tags, or all-tags (default: every tag)" },
      attribution,
    ],
  },
];
