import type { BudgetStatus } from "@spendlens/core";
import { bar, dailyChart, money } from "./charts.ts";

/** Charts drawn below the bars: every entity's when there are this many or fewer, else the nearest to its limit. */
const CHART_ALL_UP_TO = 3;

const when = (iso: string | null) => (iso ? `${iso.slice(0, 16).replace("T", " ")}Z` : "—");

function label(b: BudgetStatus): string {
  const id = b.entity_type === "key" ? `${b.entity_id.slice(0, 10)}…` : b.entity_id;
  return b.alias ? `${b.alias} (${id})` : id;
}

/** `spendlens budgets` as a person reads it: a bar per budget, then daily spend drawn as charts. */
export function renderBudgets(out: { budgets: BudgetStatus[] }): string {
  const list = out.budgets;
  if (!list.length) return "(no budgets)\n";
  const rows = list.map((b) => ({
    who: `${b.entity_type.padEnd(12)} ${label(b)}`,
    b,
  }));
  const whoWidth = Math.min(48, Math.max(...rows.map((r) => r.who.length)));
  let text = "";
  for (const { who, b } of rows) {
    const pct = b.percent_used === null ? "    —" : `${b.percent_used.toFixed(1).padStart(5)}%`;
    const limit = b.max_budget !== null ? money(b.max_budget) : "no limit";
    text += `${who.slice(0, whoWidth).padEnd(whoWidth)}  ${bar(b.spend, b.max_budget)} ${pct}  ${money(b.spend)} / ${limit}`;
    if (b.soft_budget !== null) text += `  soft ${money(b.soft_budget)}`;
    text += "\n";
    const parts = [
      `status ${b.status}`,
      b.budget_reset_at ? `window ${when(b.window_start)} → ${when(b.budget_reset_at)}` : "never resets",
      `burn ${money(b.avg_daily_spend)}/day`,
    ];
    if (b.projected_spend !== null) parts.push(`projected ${money(b.projected_spend)} at reset`);
    parts.push(
      b.projected_exhausted_at
        ? `runs out ${when(b.projected_exhausted_at)}`
        : b.status === "exceeded"
          ? "run out"
          : "does not run out this window",
    );
    text += `${" ".repeat(whoWidth)}  ${parts.join(" · ")}\n`;
  }
  const charted =
    list.length <= CHART_ALL_UP_TO
      ? list
      : [...list].sort((a, b) => (b.percent_used ?? -1) - (a.percent_used ?? -1)).slice(0, 1);
  for (const b of charted) {
    if (!b.daily.length) continue;
    text += `\n${dailyChart(
      `daily spend, ${b.entity_type} ${label(b)} (last ${b.daily.length} days)`,
      b.daily.map((d) => ({ date: d.date, value: d.spend })),
    )}`;
  }
  if (charted.length < list.length) text += `(charts for one budget: --entity-type and --entity-id)\n`;
  return text;
}
