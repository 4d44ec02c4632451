import { sql } from "kysely";
import { now } from "../clock.ts";
import type { Db } from "../db/connect.ts";
import { executeFolded } from "../rollups/fold.ts";
import { spendTotalsStatement } from "../rollups/query.ts";
import type { Scope } from "../scope.ts";
import { last30DaysFrom } from "../validation.ts";

export const UNASSIGNED_TEAM = "Unassigned";
export const TOP_TEAMS = 10;

export interface TeamSpendResult {
  /** One entry per day with spend, sorted by date: `{date: 'YYYY-MM-DD', <team alias>: spend, ...}`. */
  daily_spend: Array<{ date: string } & Record<string, number | string>>;
  /** Every team alias with spend in the window, highest total first. */
  teams: string[];
  /** The top 10 teams by total spend: `{team_id: <alias>, total_spend}` (the original names the alias team_id). */
  total_spend_per_team: Array<{ team_id: string; total_spend: number }>;
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/**
 * GET /global/spend/teams: spend per day per team alias since UTC midnight 30 days ago. Logs without a
 * team, or whose team has no alias or is not in LiteLLM_TeamTable, count as "Unassigned". Daily values
 * are rounded to cents as the original does; team totals are the rounded sum of the exact daily spend.
 */
export async function globalSpendTeams(db: Db, scope: Scope): Promise<TeamSpendResult> {
  // Spend per (team_id, day) from the rollups with each team's alias joined after aggregation: one
  // statement, named and checking the fold itself (executeFolded), as spendTotals reads.
  const byTeamDay = await spendTotalsStatement(db, scope, {
    window: { from: last30DaysFrom(now()), to: null },
    dims: ["team_id", "day"],
  });
  const r = await executeFolded(
    db,
    (guard) => sql<{
      team_alias: string | null;
      day: string;
      spend: number;
    }>`SELECT t.team_alias, s.day, s.spend
      FROM (${byTeamDay(guard)}) s LEFT JOIN "LiteLLM_TeamTable" t ON t.team_id = s.team_id`,
  );
  const rows = r.rows.map((x) => ({
    team_alias: x.team_alias ?? null,
    spend_date: x.day,
    total_spend: x.spend,
  }));

  // Exact sums per (day, alias) and per alias; "Unassigned" gathers every null alias.
  const byDate = new Map<string, Map<string, number>>();
  const totals = new Map<string, number>();
  for (const r of rows) {
    const alias = r.team_alias ?? UNASSIGNED_TEAM;
    let d = byDate.get(r.spend_date);
    if (!d) {
      d = new Map();
      byDate.set(r.spend_date, d);
    }
    d.set(alias, (d.get(alias) ?? 0) + r.total_spend);
    totals.set(alias, (totals.get(alias) ?? 0) + r.total_spend);
  }
  const daily = [...byDate.entries()]
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([date, m]) => {
      const entry: { date: string } & Record<string, number | string> = { date };
      for (const [alias, v] of [...m.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)))
        entry[alias] = round2(v);
      return entry;
    });
  const ranked = [...totals.entries()]
    .map(([team, total]) => ({ team_id: team, total_spend: round2(total) }))
    .sort((a, b) => b.total_spend - a.total_spend || (a.team_id < b.team_id ? -1 : 1));
  return {
    daily_spend: daily,
    teams: ranked.map((r) => r.team_id),
    total_spend_per_team: ranked.slice(0, TOP_TEAMS),
  };
}
