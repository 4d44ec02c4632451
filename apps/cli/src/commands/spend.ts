import type { ReportCommand } from "./types.ts";

export const spendCommands: ReportCommand[] = [
  {
    name: "global-spend",
    procedure: "spend.globalSpend",
    summary: "Total spend over the last 30 days and the configured max budget (GET /global/spend)",
  },
];
