import { sql } from "kysely";
import { now } from "../clock.ts";
import type { Db } from "../db/connect.ts";
import { spendTotals } from "../rollups/query.ts";
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
  // Spend per (team_id, day) from the rollups, then the team aliases joined after aggregation.
  const totalsByTeam = await spendTotals(db, scope, {
    window: { from: last30DaysFrom(now()), to: null },
    dims: ["team_id", "day"],
  });
  const teamIds = [...new Set(totalsByTeam.map((r) => r.team_id).filter((t): t is string => t != null))];
  const aliasOf = new Map<string, string | null>();
  if (teamIds.length) {
    const t = await db
      .selectFrom("LiteLLM_TeamTable")
      .select(["team_id", "team_alias"])
      .where("team_id", "=", sql<string>`ANY(${teamIds}::text[])`)
      .execute();
    for (const r of t) aliasOf.set(r.team_id, r.team_alias ?? null);
  }
  const rows = totalsByTeam.map((r) => ({
    team_alias: r.team_id != null ? (aliasOf.get(r.team_id) ?? null) : null,
    spend_date: r.day as string,
    total_spend: r.spend,
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
