import type { SpendAnalyticsPaginatedResponse } from "@spendlens/core";
import type { OptionSpec, ReportCommand } from "./types.ts";

const common: OptionSpec[] = [
  { flags: "--start-date <day>", description: "first day, YYYY-MM-DD (UTC)" },
  { flags: "--end-date <day>", description: "last day, YYYY-MM-DD (UTC), included whole" },
  { flags: "--model <model>", description: "only this model" },
  { flags: "--api-key <key>", description: "only this key (raw sk-… or its hash)" },
  { flags: "--page <n>", description: "page number (default 1)" },
  { flags: "--page-size <n>", description: "daily-table rows per page (1..1000)" },
];

/** One table row per date: its metrics (`--json` gives the whole answer, breakdowns included). */
const perDate = (o: SpendAnalyticsPaginatedResponse) =>
  o.results.map((r) => ({ date: r.date, ...r.metrics }));

function command(entity: string, procedure: string, path: string, extra: OptionSpec[]): ReportCommand {
  return {
    name: `daily-activity-${entity}`,
    procedure,
    summary: `Daily activity per ${entity}, metrics per date (GET ${path})`,
    options: [...common, ...extra],
    view: perDate,
  };
}

export const dailyActivityCommands: ReportCommand[] = [
  command("user", "dailyActivity.user", "/user/daily/activity", [
    { flags: "--user-id <id>", description: "only this user" },
  ]),
  {
    name: "daily-activity-user-aggregated",
    procedure: "dailyActivity.userAggregated",
    summary: "Daily activity per user, every row at once (GET /user/daily/activity/aggregated)",
    options: [
      ...common.filter((o) => !o.flags.startsWith("--page")),
      { flags: "--user-id <id>", description: "only this user" },
    ],
    view: perDate,
  },
  command("team", "dailyActivity.team", "/team/daily/activity", [
    { flags: "--team-ids <ids>", description: "comma-separated team ids" },
    { flags: "--exclude-team-ids <ids>", description: "comma-separated team ids to leave out" },
  ]),
  command("organization", "dailyActivity.organization", "/organization/daily/activity", [
    { flags: "--organization-ids <ids>", description: "comma-separated organization ids" },
    {
      flags: "--exclude-organization-ids <ids>",
      description: "comma-separated organization ids to leave out",
    },
  ]),
  command("customer", "dailyActivity.customer", "/customer/daily/activity", [
    { flags: "--end-user-ids <ids>", description: "comma-separated end user ids" },
    { flags: "--exclude-end-user-ids <ids>", description: "comma-separated end user ids to leave out" },
  ]),
  command("agent", "dailyActivity.agent", "/agent/daily/activity", [
    { flags: "--agent-ids <ids>", description: "comma-separated agent ids" },
    { flags: "--exclude-agent-ids <ids>", description: "comma-separated agent ids to leave out" },
  ]),
  command("tag", "dailyActivity.tag", "/tag/daily/activity", [
    { flags: "--tags <tags>", description: "comma-separated tags" },
    { flags: "--exclude-tags <tags>", description: "comma-separated tags to leave out" },
  ]),
];
