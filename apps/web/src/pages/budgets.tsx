import { useQuery } from "@tanstack/react-query";
import { spendKeysOptions } from "../api.ts";
import { useAuth } from "../auth.ts";
import { dateTimeIn } from "../format.ts";
import { Meter, ProviderBudgetsPanel } from "../panels.tsx";
import { type Col, DataTable, Panel } from "../ui.tsx";
import { useView } from "../view.ts";

/** A key's or a user's budget: LiteLLM's max_budget against the running spend since its last reset. */
interface Budget {
  id: string;
  label: string;
  user_id: string | null;
  team_id: string | null;
  spend: number;
  max_budget: number;
  budget_duration: string | null;
  budget_reset_at: string | null;
  used: number;
}

function budgetsOf(rows: readonly unknown[], id: string, label: string): Budget[] {
  return rows
    .map((r) => r as Record<string, unknown>)
    .filter((r) => typeof r.max_budget === "number")
    .map((r) => {
      const spend = Number(r.spend ?? 0);
      const max = Number(r.max_budget);
      return {
        id: String(r[id]),
        label: String(r[label] ?? r[id]),
        user_id: (r.user_id as string | null) ?? null,
        team_id: (r.team_id as string | null) ?? null,
        spend,
        max_budget: max,
        budget_duration: (r.budget_duration as string | null) ?? null,
        budget_reset_at: (r.budget_reset_at as string | null) ?? null,
        used: max > 0 ? spend / max : 0,
      };
    });
}

const BUDGET_CSV = [
  "id",
  "label",
  "user_id",
  "team_id",
  "spend",
  "max_budget",
  "budget_duration",
  "budget_reset_at",
];

function budgetCols(first: string, tz: string, withUser: boolean): Col<Budget>[] {
  return [
    { id: "label", header: first, value: (r) => r.label },
    ...(withUser ? [{ id: "user_id", header: "User", value: (r: Budget) => r.user_id }] : []),
    { id: "team_id", header: "Team", value: (r) => r.team_id },
    { id: "spend", header: "Used", value: (r) => r.spend, kind: "money" },
    { id: "max_budget", header: "Limit", value: (r) => r.max_budget, kind: "money" },
    {
      id: "used",
      header: "Used %",
      value: (r) => r.used,
      kind: "int",
      render: (r) => <Meter frac={r.used} />,
    },
    { id: "budget_duration", header: "Period", value: (r) => r.budget_duration },
    {
      id: "budget_reset_at",
      header: `Resets (${tz})`,
      value: (r) => r.budget_reset_at,
      render: (r) => (r.budget_reset_at ? dateTimeIn(r.budget_reset_at, tz) : "—"),
    },
  ];
}

/**
 * What budgets exist today: provider budgets (their current window), and keys' and users' max_budget
 * against their running spend. Budget status with burn rate and projected run-out belongs in the panel
 * marked below once the budget status procedures exist.
 */
export function BudgetsPage() {
  const { client } = useAuth();
  const { view } = useView();
  const keys = useQuery(spendKeysOptions(client));
  const users = useQuery({
    queryKey: ["spend.spendUsers"],
    queryFn: () => client.spend.spendUsers.query({}),
  });
  const keyBudgets = (d: readonly unknown[]) => budgetsOf(d, "token", "key_alias");
  const userBudgets = (d: readonly unknown[]) => budgetsOf(d, "user_id", "user_id");
  return (
    <div className="grid">
      <ProviderBudgetsPanel tz={view.tz} />
      <Panel
        title="Keys with a max budget (spend since the key's last reset)"
        testId="key-budgets"
        q={keys}
        wide
        isEmpty={(d) => keyBudgets(d).length === 0}
        emptyText="No key has a max_budget."
        csv={(d) => ({
          name: "key-budgets",
          columns: BUDGET_CSV,
          rows: keyBudgets(d) as unknown as Record<string, unknown>[],
        })}
      >
        {(d) => (
          <DataTable
            testId="key-budgets-table"
            cols={budgetCols("Key", view.tz, true)}
            rows={keyBudgets(d)}
            initialSort={{ id: "used", desc: true }}
            maxRows={100}
          />
        )}
      </Panel>
      <Panel
        title="Users with a max budget"
        testId="user-budgets"
        q={users}
        wide
        isEmpty={(d) => userBudgets(d).length === 0}
        emptyText="No user has a max_budget."
        csv={(d) => ({
          name: "user-budgets",
          columns: BUDGET_CSV,
          rows: userBudgets(d) as unknown as Record<string, unknown>[],
        })}
      >
        {(d) => (
          <DataTable
            testId="user-budgets-table"
            cols={budgetCols("User", view.tz, false)}
            rows={userBudgets(d)}
            initialSort={{ id: "used", desc: true }}
            maxRows={100}
          />
        )}
      </Panel>
      <section className="panel wide" data-testid="budget-status">
        <h2>Budget status: teams, burn rate, projected run-out</h2>
        <p className="muted">
          Not available yet: spendlens has no budget status procedure today (team budgets, burn rate,
          projected run-out). This panel is where it goes.
        </p>
      </section>
    </div>
  );
}
