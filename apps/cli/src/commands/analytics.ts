import type { LogsPage } from "@spendlens/core";
import { brief } from "./logs.ts";
import type { OptionSpec, ReportCommand } from "./types.ts";

/** One option per analytics dimension filter: `--model-group a,b` sets `model_group` (any of). */
const dimensionFilters: OptionSpec[] = [
  ["api-key", "keys: raw sk-… (hashed) or hashes"],
  ["user", "user ids"],
  ["team", "team ids"],
  ["organization", "organization ids"],
  ["end-user", "end users"],
  ["model", "models"],
  ["model-group", "model groups"],
  ["provider", "providers (the log's custom_llm_provider)"],
  ["tag", "request tags"],
  ["api-base", "api bases"],
].map(([flag, what]) => ({ flags: `--${flag} <list>`, description: `only these ${what}, comma separated` }));

export const analyticsCommands: ReportCommand[] = [
  {
    name: "analytics",
    procedure: "analytics.query",
    summary:
      "Spend, requests and tokens by any dimensions and an hour/day/week/month bucket in a time zone (GET /spendlens/analytics)",
    options: [
      {
        flags: "--dims <list>",
        description:
          "comma separated: api_key,user,team,organization,end_user,model,model_group,provider,tag,api_base and at most one of hour,day,week,month",
      },
      {
        flags: "--bucket <unit>",
        description: "hour, day, week (from Monday) or month (or name it in --dims)",
      },
      {
        flags: "--timezone <zone>",
        description: "IANA zone for the buckets and for day bounds (default UTC)",
      },
      {
        flags: "--start <when>",
        description: "a day YYYY-MM-DD in the zone, or an ISO instant with offset (required)",
      },
      {
        flags: "--end <when>",
        description: "a day (included whole) or an ISO instant (excluded) (required)",
      },
      ...dimensionFilters,
      {
        flags: "--order-by <measure>",
        description: "spend, requests, prompt_tokens, completion_tokens or total_tokens",
      },
      { flags: "--order <dir>", description: "desc (default) or asc, with --order-by" },
      { flags: "--limit <n>", description: "at most n rows (1..10000)" },
      { flags: "--attribution <mode>", description: "tags: split (default, spend / number of tags) or full" },
    ],
  },
  {
    name: "logs-page",
    procedure: "logs.page",
    summary: "Spend logs newest first, one keyset page at a time (GET /spendlens/logs)",
    options: [
      { flags: "--api-key <key>", description: "one key: raw sk-… (hashed) or its hash" },
      { flags: "--user-id <id>", description: "one user" },
      { flags: "--request-id <id>", description: "one request" },
      { flags: "--team-id <id>", description: "one team" },
      { flags: "--end-user <id>", description: "one end user" },
      { flags: "--model <model>", description: "one model" },
      { flags: "--min-spend <usd>", description: "spend at least this" },
      { flags: "--max-spend <usd>", description: "spend at most this" },
      { flags: "--start-date <datetime>", description: "'YYYY-MM-DD HH:MM:SS' UTC, included" },
      { flags: "--end-date <datetime>", description: "'YYYY-MM-DD HH:MM:SS' UTC, included" },
      { flags: "--limit <n>", description: "rows per page, 1..100 (default 50)" },
      { flags: "--cursor <cursor>", description: "next_cursor of the previous page" },
      { flags: "--include-total <bool>", description: "true: also count every matching log" },
    ],
    view: (o: LogsPage) => ({ ...o, data: o.data.map(brief) }),
  },
];
