import type { SpendReport } from "@spendlens/core";
import { dayRangeOptions } from "./activity.ts";
import type { ReportCommand } from "./types.ts";

/** The nested spend report as one row per (day, team or customer, model, key), or per (key, model). */
export function flattenSpendReport(r: SpendReport): Record<string, unknown>[] {
  switch (r.group_by) {
    case "team":
      return r.data.flatMap((d) =>
        d.teams.flatMap((g) =>
          g.metadata.map((m) => ({ day: d.group_by_day, team_name: g.team_name, ...m })),
        ),
      );
    case "customer":
      return r.data.flatMap((d) =>
        d.customers.flatMap((g) =>
          g.metadata.map((m) => ({ day: d.group_by_day, customer: g.customer, ...m })),
        ),
      );
    case "api_key":
      return r.data.flatMap((k) => k.model_details.map((m) => ({ api_key: k.api_key, ...m })));
  }
}

export const reportsCommands: ReportCommand[] = [
  {
    name: "spend-provider",
    procedure: "reports.spendProvider",
    summary:
      "Spend per provider (model_id → deployment → provider), Unknown last (GET /global/spend/provider)",
    options: dayRangeOptions,
  },
  {
    name: "spend-report",
    procedure: "reports.spendReport",
    summary:
      "Daily spend per team or customer, or per api_key with per-model cost (GET /global/spend/report)",
    options: [
      ...dayRangeOptions,
      { flags: "--group-by <by>", description: "team (default), customer or api_key" },
      { flags: "--api-key <key>", description: "one key (raw sk- keys are hashed)" },
      { flags: "--internal-user-id <id>", description: "one internal user's keys" },
      { flags: "--team-id <id>", description: "one team (with --customer-id: that team's customer)" },
      { flags: "--customer-id <id>", description: "one customer (end user)" },
    ],
    // One row per leaf; `call reports.spendReport` gives the nested answer.
    view: flattenSpendReport,
  },
];
