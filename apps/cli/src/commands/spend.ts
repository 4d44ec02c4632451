import type { DailySpendRow, KeyRow, TeamSpendResult, UserRow } from "@spendlens/core";
import { dailyChart, perDay } from "../charts.ts";
import { render } from "../output.ts";
import type { OptionSpec, ReportCommand } from "./types.ts";

const apiKey: OptionSpec = {
  flags: "--api-key <key>",
  description: "one key: raw sk-… (hashed) or its hash",
};
const limit = (what: string, dflt: string): OptionSpec => ({
  flags: "--limit <n>",
  description: `how many ${what}, 1..1000 (default: ${dflt})`,
});

const pick = <T extends Record<string, unknown>>(row: T, cols: string[]) =>
  Object.fromEntries(cols.map((c) => [c, row[c] ?? null]));

/** The columns a table shows; `spendlens call spend.spendKeys` / `spend.spendUsers` give whole rows. */
const KEY_COLUMNS = [
  "token",
  "key_alias",
  "key_name",
  "user_id",
  "team_id",
  "spend",
  "max_budget",
  "expires",
  "blocked",
];
const USER_COLUMNS = ["user_id", "user_alias", "user_email", "user_role", "team_id", "spend", "max_budget"];

export const spendCommands: ReportCommand[] = [
  {
    name: "global-spend",
    procedure: "spend.globalSpend",
    summary: "Total spend over the last 30 days and the configured max budget (GET /global/spend)",
  },
  {
    name: "spend-keys",
    procedure: "spend.spendKeys",
    summary: "Every key with its spend, highest first (GET /spend/keys)",
    view: (o: KeyRow[]) => o.map((r) => pick(r, KEY_COLUMNS)),
  },
  {
    name: "spend-users",
    procedure: "spend.spendUsers",
    summary: "Every user with their spend, highest first, or one user (GET /spend/users)",
    options: [{ flags: "--user-id <id>", description: "one user's row" }],
    view: (o: UserRow[]) => o.map((r) => pick(r, USER_COLUMNS)),
  },
  {
    name: "global-spend-logs",
    procedure: "spend.globalSpendLogs",
    summary: "Spend per day over the last 30 days, optionally for one key (GET /global/spend/logs)",
    options: [apiKey],
    // The table, then spend per day drawn as a chart.
    picture: (o: DailySpendRow[]) =>
      `${render(o, "table")}\n${dailyChart(
        "spend per day",
        perDay(o, (r) => r.spend),
      )}`,
  },
  {
    name: "global-spend-keys",
    procedure: "spend.globalSpendKeys",
    summary: "Top keys by spend over the last 30 days, with alias and name (GET /global/spend/keys)",
    options: [limit("keys", "all")],
  },
  {
    name: "global-spend-models",
    procedure: "spend.globalSpendModels",
    summary: "Top models by spend over the last 30 days (GET /global/spend/models)",
    options: [limit("models", "10")],
  },
  {
    name: "global-spend-teams",
    procedure: "spend.globalSpendTeams",
    summary: "Spend per day per team over the last 30 days (GET /global/spend/teams)",
    // One row per day, one column per team; `call spend.globalSpendTeams` adds the top-10 totals.
    view: (o: TeamSpendResult) => o.daily_spend,
  },
  {
    name: "global-all-end-users",
    procedure: "spend.globalAllEndUsers",
    summary: "Every distinct end user (GET /global/all_end_users)",
    view: (o: { end_users: string[] }) => o.end_users.map((end_user) => ({ end_user })),
  },
  {
    name: "global-spend-end-users",
    procedure: "spend.globalSpendEndUsers",
    summary:
      "Top 100 end users by spend in a window, default the last 30 days (POST /global/spend/end_users)",
    options: [
      {
        flags: "--start-time <time>",
        field: "startTime",
        description: "from: YYYY-MM-DD or 'YYYY-MM-DD HH:MM:SS' UTC (default: midnight 30 days ago)",
      },
      {
        flags: "--end-time <time>",
        field: "endTime",
        description: "until: a day (included whole) or a datetime (excluded) (default: now)",
      },
      apiKey,
    ],
  },
];
