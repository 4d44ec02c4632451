import { execSql, insertLogs, makeLog } from "@spendlens/core/testing";
import { describe, expect, it } from "vitest";
import { useCliDb, useCliServer } from "./harness.ts";

const DAY = 86_400_000;
// The CLI runs with the real clock: the budgets here never reset, so their spend is every log of theirs.
const base = Date.now() - 10 * 60_000;
const at = (days: number) => new Date(base - days * DAY).toISOString();

const c = useCliDb({
  setup: async (t) => {
    await execSql(
      t.db,
      `INSERT INTO "LiteLLM_VerificationToken" (token, key_alias, user_id, max_budget)
        VALUES ('hash-cli-a', 'cli-alpha', 'u-cli', 10), ('hash-cli-b', 'cli-beta', 'u-cli', NULL)`,
    );
    await execSql(
      t.db,
      `INSERT INTO "LiteLLM_TeamTable" (team_id, team_alias, max_budget, soft_budget) VALUES ($1, $2, $3, $4)`,
      ["team-cli", "cli team", 4, 3],
    );
    await insertLogs(t.db, [
      makeLog({ api_key: "hash-cli-a", team_id: "team-cli", startTime: at(0), spend: 2 }),
      makeLog({ api_key: "hash-cli-a", team_id: "team-cli", startTime: at(1), spend: 1.5 }),
      makeLog({ api_key: "hash-cli-a", startTime: at(3), spend: 1.5 }),
      makeLog({ api_key: "hash-cli-b", startTime: at(0), spend: 7 }),
    ]);
  },
});
/** The budgets' views (JSON as it is, bars and a chart, flat CSV), through a server. */
const { cli } = useCliServer(c, "sk-master-cli-budgets");

describe("spendlens budgets", () => {
  it("--json is the answer as it is: exact spend, limits and the burn rate", async () => {
    const r = await cli(["--json", "budgets"]);
    expect(r.stderr).toBe("");
    const out = JSON.parse(r.stdout) as { budgets: Record<string, unknown>[] };
    expect(out.budgets.map((b) => [b.entity_type, b.entity_id, b.spend, b.max_budget, b.status])).toEqual([
      ["key", "hash-cli-a", 5, 10, "ok"],
      ["team", "team-cli", 3.5, 4, "soft_exceeded"],
    ]);
    // Last 7 × 24 h: every log above (the oldest is 3 days old).
    expect(out.budgets[0]!.avg_daily_spend).toBeCloseTo(5 / 7, 12);
    expect(out.budgets[0]!.projected_spend).toBeNull();
    expect(out.budgets[0]!.percent_used).toBe(50);
  });

  it("draws a bar per budget and the daily spend as a chart", async () => {
    const r = await cli(["budgets"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    // 50 % of a 24-cell bar: 12 full cells; the team's 87.5 %: 21.
    expect(r.stdout).toContain(`[${"█".repeat(12)}${"░".repeat(12)}]   50.0%  $5.00 / $10.00`);
    expect(r.stdout).toContain(`[${"█".repeat(21)}${"░".repeat(3)}]   87.5%  $3.50 / $4.00  soft $3.00`);
    expect(r.stdout).toContain("status soft_exceeded · never resets");
    expect(r.stdout).toContain("daily spend, key cli-alpha (hash-cli-a…) (last 14 days)");
    expect(r.stdout).toMatch(/\$2\.00 [┤┼]/); // the chart's top label: today's 2.00
    expect(r.stdout).toMatch(/[╭╮╯╰─]/);
  });

  it("--csv stays plain: one row per budget and day of its daily series (flattened as REST ?format=csv does)", async () => {
    const r = await cli(["--csv", "budgets", "--entity-type", "team"]);
    expect(r.stderr).toBe("");
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^entity_type,entity_id,alias,/);
    expect(lines[0]).toContain(",date,daily.spend");
    // The team's one budget, over the 14 days of its daily series.
    expect(lines).toHaveLength(1 + 14);
    for (const l of lines.slice(1)) expect(l).toMatch(/^team,team-cli,cli team,/);
    expect(r.stdout).not.toContain("█");
  });
});
