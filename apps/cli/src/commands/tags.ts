import type { TagNames } from "@spendlens/core";
import { dayRangeOptions } from "./activity.ts";
import { csvList, type OptionSpec, type ReportCommand } from "./types.ts";

const attribution: OptionSpec = {
  flags: "--attribution <how>",
  description: "split (default: a request's spend divided over its tags) or full (the seed's figures)",
};

const tagFilters: OptionSpec[] = [
  { flags: "--tag-filters <tags>", description: "comma-separated tags (exact)", parse: csvList },
  { flags: "--tag-filter <text>", description: "tags containing this text (case-insensitive)" },
  { flags: "--custom-llm-provider <name>", description: "one provider" },
];
const resultsOf = (o: { results: unknown[] }) => o.results;

export const tagsCommands: ReportCommand[] = [
  {
    name: "tag-dau",
    procedure: "tagAnalytics.dau",
    summary: "Daily active users (key owners) per tag (GET /tag/dau)",
    options: [
      { flags: "--start-date <day>", description: "first day (default: 6 days before the end)" },
      { flags: "--end-date <day>", description: "last day (default: today, UTC)" },
      ...tagFilters,
    ],
    view: resultsOf,
  },
  {
    name: "tag-wau",
    procedure: "tagAnalytics.wau",
    summary: "Weekly active users per tag, last 7 weeks (GET /tag/wau)",
    options: tagFilters,
    view: resultsOf,
  },
  {
    name: "tag-mau",
    procedure: "tagAnalytics.mau",
    summary: "30-day active users per tag (GET /tag/mau)",
    options: [
      { flags: "--months <n>", description: "how many 30-day periods, 1..12 (default 7)" },
      ...tagFilters,
    ],
    view: resultsOf,
  },
  {
    name: "tag-summary",
    procedure: "tagAnalytics.summary",
    summary: "Per tag: users, requests, tokens, spend (GET /tag/summary)",
    options: [
      { flags: "--start-date <day>", description: "first day, YYYY-MM-DD (required)" },
      { flags: "--end-date <day>", description: "last day, YYYY-MM-DD (required)" },
      ...tagFilters,
    ],
    view: resultsOf,
  },
  {
    name: "tag-distinct",
    procedure: "tagAnalytics.distinct",
    summary: "User-Agent tags and tags without ':' (GET /tag/distinct)",
    view: resultsOf,
  },
  {
    name: "tag-per-user",
    procedure: "tagAnalytics.perUser",
    summary: "Per key owner over the last 30 days (GET /tag/user-agent/per-user-analytics)",
    options: [
      { flags: "--tag-filters <tags>", description: "comma-separated tags (exact)", parse: csvList },
      { flags: "--tag-filter <text>", description: "tags containing this text (case-insensitive)" },
      { flags: "--page <n>", description: "page (default 1)" },
      { flags: "--page-size <n>", description: "users per page, 1..1000 (default 50)" },
    ],
    view: (o: { results: unknown[] }) => o.results,
  },
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
