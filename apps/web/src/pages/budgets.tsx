import { useQuery } from "@tanstack/react-query";
import { spendKeysOptions } from "../api.ts";
import { useAuth } from "../auth.ts";
import { dateTimeIn } from "../format.ts";
import { Meter, ProviderBudgetsPanel } from "../panels.tsx";
import { type Col, DataTable, Panel } from "../ui.tsx";
import { useView } from "../view.ts";

interface KeyBudget {
  token: string;
  key_alias: string | null;
  user_id: string | null;
  team_id: string | null;
  spend: number;
  max_budget: number;
  budget_duration: string | null;
  budget_reset_at: string | null;
  used: number;
}

/**
 * What budgets exist today: provider budgets (their current window) and keys' max_budget against the
 * key's running spend. Budget status for keys, users and teams with burn rate and projected run-out
 * belongs in the panel marked below once the budget status procedures exist.
 */
export function BudgetsPage() {
  const { client } = useAuth();
  const { view } = useView();
  const keys = useQuery(spendKeysOptions(client));
  const withBudget = (rows: NonNullable<typeof keys.data>): KeyBudget[] =>
    rows
      .map((k) => k as unknown as Record<string, unknown>)
      .filter((k) => typeof k.max_budget === "number")
      .map((k) => ({
        token: String(k.token),
        key_alias: (k.key_alias as string | null) ?? null,
        user_id: (k.user_id as string | null) ?? null,
        team_id: (k.team_id as string | null) ?? null,
        spend: Number(k.spend ?? 0),
        max_budget: Number(k.max_budget),
        budget_duration: (k.budget_duration as string | null) ?? null,
        budget_reset_at: (k.budget_reset_at as string | null) ?? null,
        used: Number(k.max_budget) > 0 ? Number(k.spend ?? 0) / Number(k.max_budget) : 0,
      }));
  const cols: Col<KeyBudget>[] = [
    { id: "key_alias", header: "Key", value: (r) => r.key_alias ?? r.token.slice(0, 10) },
    { id: "user_id", header: "User", value: (r) => r.user_id },
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
      header: `Resets (${view.tz})`,
      value: (r) => r.budget_reset_at,
      render: (r) => (r.budget_reset_at ? dateTimeIn(r.budget_reset_at, view.tz) : "—"),
    },
  ];
  return (
    <div className="grid">
      <ProviderBudgetsPanel tz={view.tz} />
      <Panel
        title="Keys with a max budget (spend since the key's last reset)"
        testId="key-budgets"
        q={keys}
        wide
        isEmpty={(d) => withBudget(d).length === 0}
        emptyText="No key has a max_budget."
        csv={(d) => ({
          name: "key-budgets",
          columns: [
            "token",
            "key_alias",
            "user_id",
            "team_id",
            "spend",
            "max_budget",
            "budget_duration",
            "budget_reset_at",
          ],
          rows: withBudget(d) as unknown as Record<string, unknown>[],
        })}
      >
        {(d) => (
          <DataTable
            cols={cols}
            rows={withBudget(d)}
            initialSort={{ id: "used", desc: true }}
            maxRows={100}
          />
        )}
      </Panel>
      <section className="panel wide" data-testid="budget-status">
        <h2>Budget status: users and teams, burn rate, projected run-out</h2>
        <p className="muted">
          Not available yet: spendlens has no budget status procedure for users and teams today. This panel is
          where it goes.
        </p>
      </section>
    </div>
  );
}
