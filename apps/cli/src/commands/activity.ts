import type { DeploymentExceptions, GlobalActivity, ModelGroupActivity } from "@spendlens/core";
import { dailyChart } from "../charts.ts";
import { render } from "../output.ts";
import type { OptionSpec, ReportCommand } from "./types.ts";

export const dayRangeOptions: OptionSpec[] = [
  { flags: "--start-date <day>", description: "first day, YYYY-MM-DD (UTC)" },
  { flags: "--end-date <day>", description: "last day, YYYY-MM-DD (UTC), included whole" },
];
const modelGroup: OptionSpec = { flags: "--model-group <name>", description: "the model group (required)" };

/** Chart rows for a count series: one per whole number up to 8, so no two rows share a label. */
const countHeight = (values: number[]) =>
  Math.max(1, Math.min(8, Math.max(0, ...values) - Math.min(...values, Number.POSITIVE_INFINITY)));

export const activityCommands: ReportCommand[] = [
  {
    name: "activity-cache-hits",
    procedure: "activity.cacheHits",
    summary: "Cache hits per key alias, call type and model (GET /global/activity/cache_hits)",
    options: dayRangeOptions,
  },
  {
    name: "activity",
    procedure: "activity.globalActivity",
    summary: "Requests and total tokens per day, and their sums (GET /global/activity)",
    options: dayRangeOptions,
    // The table, then requests per day drawn as a chart.
    picture: (o: GlobalActivity) =>
      `${render(o, "table")}\n${dailyChart(
        "api requests per day",
        o.daily_data.map((d) => ({ date: d.date, value: d.api_requests })),
        countHeight(o.daily_data.map((d) => d.api_requests)),
        (x) => String(Math.round(x)),
      )}`,
  },
  {
    name: "activity-model",
    procedure: "activity.globalActivityModel",
    summary: "Requests and tokens per day per model group, top 10 groups (GET /global/activity/model)",
    options: dayRangeOptions,
    // One row per model group and day; `call activity.globalActivityModel` gives the nested answer.
    view: (o: ModelGroupActivity[]) => o.flatMap((g) => g.daily_data.map((d) => ({ model: g.model, ...d }))),
  },
  {
    name: "activity-exceptions",
    procedure: "activity.globalActivityExceptions",
    summary: "429 errors per day for one model group (GET /global/activity/exceptions)",
    options: [modelGroup, ...dayRangeOptions],
  },
  {
    name: "activity-exceptions-deployment",
    procedure: "activity.globalActivityExceptionsDeployment",
    summary:
      "429 errors per day per api_base for one model group, top 10 (GET /global/activity/exceptions/deployment)",
    options: [modelGroup, ...dayRangeOptions],
    view: (o: DeploymentExceptions[]) =>
      o.flatMap((g) => g.daily_data.map((d) => ({ api_base: g.api_base, ...d }))),
  },
];
