import type { BudgetStatus, ProviderBudgetsResponse } from "@spendlens/core";
import { renderBudgets } from "../budgetsView.ts";
import { render } from "../output.ts";
import type { ReportCommand } from "./types.ts";

export const budgetsCommands: ReportCommand[] = [
  {
    name: "budgets",
    procedure: "budgets.budgetStatus",
    summary:
      "Every budget: a bar of used / limit, the window, burn rate, projected run-out, and daily spend drawn as a chart (GET /budget/status)",
    options: [
      { flags: "--entity-type <type>", description: "key, user, team, end_user, organization or provider" },
      { flags: "--entity-id <id>", description: "one entity (a key as sk-… or its hash)" },
    ],
    // --csv: one row per budget and day of its daily series (flattened as REST ?format=csv); --json: as it is.
    picture: (o: { budgets: BudgetStatus[] }) => renderBudgets(o),
  },
  {
    name: "budget-alerts",
    procedure: "budgets.budgetAlerts",
    summary: "The budget webhook outbox: each event, attempts, delivered_at (GET /budget/alerts)",
    options: [
      { flags: "--status <status>", description: "pending, delivered or all (default all)" },
      { flags: "--limit <n>", description: "most rows (default 100)" },
    ],
    // The table shows each event's message; --json and --csv keep the whole payload.
    picture: (o: { alerts: Record<string, unknown>[] }) =>
      render(
        o.alerts.map(({ payload, idempotency_key: _key, ...r }) => ({
          ...r,
          event_message: (payload as { event_message?: string }).event_message,
        })),
        "table",
      ),
  },
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
