import { useQuery } from "@tanstack/react-query";
import { type BudgetStatusRow, budgetStatusOptions } from "../api.ts";
import { useAuth } from "../auth.ts";
import { useKeyNames } from "../entities.ts";
import { dateTimeIn } from "../format.ts";
import { ViewLink } from "../link.tsx";
import { usedCols } from "../panels.tsx";
import { type Col, DataTable, Panel } from "../ui.tsx";
import { useView } from "../view.ts";

/** The entity types of budgets.budgetStatus, one panel each, and the entity page a row links to. */
const KINDS = [
  { type: "key", title: "Keys", one: "Key", page: "keys" },
  { type: "user", title: "Users", one: "User", page: "users" },
  { type: "team", title: "Teams", one: "Team", page: "teams" },
  { type: "end_user", title: "Customers", one: "Customer", page: "customers" },
  { type: "organization", title: "Organizations", one: "Organization", page: null },
  { type: "provider", title: "Providers", one: "Provider", page: null },
] as const;

/** The CSV's columns: every field of the procedure's row but the per-day series (flattened apart). */
export const BUDGET_CSV = [
  "entity_type",
  "entity_id",
  "alias",
  "user_id",
  "team_id",
  "organization_id",
  "user_email",
  "max_budget",
  "soft_budget",
  "budget_duration",
  "spend",
  "window_start",
  "budget_reset_at",
  "avg_daily_spend",
  "projected_spend",
  "projected_exhausted_at",
  "percent_used",
  "status",
];

function budgetCols(kind: (typeof KINDS)[number], tz: string, keyName: (h: string) => string) {
  const when = (v: string | null) => (v ? dateTimeIn(v, tz) : "—");
  const cols: Col<BudgetStatusRow>[] = [
    {
      id: "entity_id",
      header: kind.one,
      value: (r) => r.entity_id,
      render: (r) => {
        const text = r.alias ?? (r.entity_type === "key" ? keyName(r.entity_id) : r.entity_id);
        return kind.page ? (
          <ViewLink to={`/${kind.page}/${encodeURIComponent(r.entity_id)}`} className="name">
            <span title={r.entity_id}>{text}</span>
          </ViewLink>
        ) : (
          <span title={r.entity_id}>{text}</span>
        );
      },
    },
    ...(kind.type === "key"
      ? [{ id: "user_id", header: "User", value: (r: BudgetStatusRow) => r.user_id }]
      : []),
    ...usedCols<BudgetStatusRow>({
      limit: "max_budget",
      used: "percent_used",
      frac: (r) => (r.percent_used === null ? null : r.percent_used / 100),
    }),
    { id: "budget_duration", header: "Period", value: (r) => r.budget_duration },
    {
      id: "budget_reset_at",
      header: `Resets (${tz})`,
      value: (r) => r.budget_reset_at,
      render: (r) => when(r.budget_reset_at),
    },
    {
      id: "avg_daily_spend",
      header: "Burn rate / day (7 d)",
      value: (r) => r.avg_daily_spend,
      kind: "money",
    },
    {
      id: "projected_spend",
      header: "Projected at reset",
      value: (r) => r.projected_spend,
      kind: "money",
    },
    {
      id: "projected_exhausted_at",
      header: `Runs out (${tz})`,
      value: (r) => r.projected_exhausted_at,
      render: (r) => when(r.projected_exhausted_at),
    },
    {
      id: "status",
      header: "Status",
      value: (r) => r.status,
      render: (r) => <span className={`badge ${r.status}`}>{r.status.replace("_", " ")}</span>,
    },
  ];
  return cols;
}

/**
 * Every budget the caller may see, from one budgets.budgetStatus call: per entity type, the spend in the
 * current window against the limit, when it resets, the burn rate (last 7 × 24 h per day), the spend
 * projected at the reset and when the limit runs out at that rate. Budgets are about their own current
 * windows, not the view's range; times show in the view's zone.
 */
export function BudgetsPage() {
  const { client } = useAuth();
  const { view } = useView();
  const keyName = useKeyNames();
  const q = useQuery(budgetStatusOptions(client));
  return (
    <div className="grid">
      {KINDS.map((k) => {
        const rowsOf = (d: { budgets: BudgetStatusRow[] }) =>
          d.budgets.filter((b) => b.entity_type === k.type);
        return (
          <Panel
            key={k.type}
            title={`${k.title} with a budget`}
            testId={`budgets-${k.type}`}
            q={q}
            wide
            isEmpty={(d) => rowsOf(d).length === 0}
            emptyText={
              k.type === "provider"
                ? "No provider budgets are configured (router_settings.provider_budget_config), or you may not see them."
                : `No ${k.title.toLowerCase()} with a budget that you may see.`
            }
            csv={(d) => ({
              name: `budgets-${k.type}`,
              columns: BUDGET_CSV,
              rows: rowsOf(d) as unknown as Record<string, unknown>[],
            })}
          >
            {(d) => (
              <DataTable
                testId={`budgets-${k.type}-table`}
                cols={budgetCols(k, view.tz, keyName)}
                rows={rowsOf(d)}
                rowKey={(r) => `${r.entity_type}|${r.entity_id}`}
                initialSort={{ id: "percent_used", desc: true }}
                maxRows={100}
              />
            )}
          </Panel>
        );
      })}
    </div>
  );
}
