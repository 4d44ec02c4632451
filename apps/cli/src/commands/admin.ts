import type { ReportCommand } from "./types.ts";

export const adminCommands: ReportCommand[] = [
  {
    name: "global-spend-reset",
    procedure: "admin.globalSpendReset",
    summary: "Set spend to 0 on every key and team; logs are kept (POST /global/spend/reset, proxy_admin)",
  },
  {
    name: "global-spend-refresh",
    procedure: "admin.globalSpendRefresh",
    summary: "Bring derived spend data up to date (POST /global/spend/refresh, proxy_admin)",
  },
];
