import { activityCommands } from "./activity.ts";
import { adminCommands } from "./admin.ts";
import { analyticsCommands } from "./analytics.ts";
import { budgetsCommands } from "./budgets.ts";
import { dailyActivityCommands } from "./dailyActivity.ts";
import { ingestCommands } from "./ingest.ts";
import { logsCommands } from "./logs.ts";
import { pricingCommands } from "./pricing.ts";
import { reportsCommands } from "./reports.ts";
import { spendCommands } from "./spend.ts";
import { tagsCommands } from "./tags.ts";
import type { ReportCommand } from "./types.ts";

export const reportCommands: ReportCommand[] = [
  ...spendCommands,
  ...activityCommands,
  ...dailyActivityCommands,
  ...reportsCommands,
  ...tagsCommands,
  ...logsCommands,
  ...budgetsCommands,
  ...ingestCommands,
  ...pricingCommands,
  ...analyticsCommands,
  ...adminCommands,
];
