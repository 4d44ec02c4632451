import type { ProviderBudgetsResponse } from "@spendlens/core";
import type { ReportCommand } from "./types.ts";

export const budgetsCommands: ReportCommand[] = [
  {
    name: "provider-budgets",
    procedure: "budgets.providerBudgets",
    summary:
      "Per provider: budget_limit, time_period, spend in the current window, budget_reset_at (GET /provider/budgets)",
    // One row per provider (the API answers an object keyed by provider, as the seed).
    view: (o: ProviderBudgetsResponse) =>
      Object.entries(o.providers).map(([provider, b]) => ({ provider, ...b })),
  },
];
