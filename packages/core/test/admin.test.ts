import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import {
  ALL,
  isMaterializedGlobalSpendView,
  refreshDerivedSpend,
  refreshSpend,
  resetSpend,
  userScope,
} from "../src/internal.ts";
import { useTestDb } from "../src/testing/hooks.ts";
import { insertLogs, makeLog } from "../src/testing/index.ts";
import { buildLogs, END_USERS, KEYS, NOW, TEAMS, USERS, writeWorld } from "../src/testing/spendWorld.ts";

const logs = buildLogs(200);

const t = useTestDb({
  now: NOW,
  setup: async (t) => {
    await writeWorld(t.db, logs);
  },
});

const snapshot = async () => {
  const q = async (text: ReturnType<typeof sql>) => (await text.execute(t.db)).rows;
  return {
    keys: await q(sql`SELECT token AS id, spend FROM "LiteLLM_VerificationToken" ORDER BY token`),
    teams: await q(sql`SELECT team_id AS id, spend FROM "LiteLLM_TeamTable" ORDER BY team_id`),
    users: await q(sql`SELECT user_id AS id, spend FROM "LiteLLM_UserTable" ORDER BY user_id`),
    endUsers: await q(sql`SELECT user_id AS id, spend FROM "LiteLLM_EndUserTable" ORDER BY user_id`),
    logs: await q(
      sql`SELECT request_id, spend, api_key, "user", team_id FROM "LiteLLM_SpendLogs" ORDER BY request_id`,
    ),
  };
};

describe("resetSpend (POST /global/spend/reset)", () => {
  it("zeroes every key and team; logs, users and end users untouched; the original's answer", async () => {
    const before = await snapshot();
    expect(before.keys.length).toBe(KEYS.length);
    expect(before.teams.length).toBe(TEAMS.length);
    expect(before.keys.every((k) => (k as { spend: number }).spend > 0)).toBe(true);
    expect(before.logs.length).toBe(logs.length);

    expect(await resetSpend(t.db, ALL)).toEqual({
      message: "Spend for all API Keys and Teams reset successfully",
      status: "success",
    });
    const after = await snapshot();
    expect(after.keys).toEqual(before.keys.map((k) => ({ ...(k as object), spend: 0 })));
    expect(after.teams).toEqual(before.teams.map((k) => ({ ...(k as object), spend: 0 })));
    expect(after.users).toEqual(
      USERS.map((u) => ({ id: u.user_id, spend: u.spend })).sort((a, b) => (a.id < b.id ? -1 : 1)),
    );
    expect(after.endUsers).toEqual(END_USERS.map((u) => ({ id: u.user_id, spend: u.spend })));
    expect(after.logs).toEqual(before.logs);
  });

  it("refuses a user scope", async () => {
    await expect(resetSpend(t.db, userScope("alice"))).rejects.toMatchObject({ code: "FORBIDDEN" });
  });
});

describe("refreshSpend (POST /global/spend/refresh)", () => {
  it("has a derived-data hook (nothing derived yet)", async () => {
    expect(await refreshDerivedSpend(t.db)).toEqual({ refreshed: [] });
  });

  it("no MonthlyGlobalSpend, or a plain view: nothing to refresh", async () => {
    expect(await isMaterializedGlobalSpendView(t.db)).toBe(false);
    expect(await refreshSpend(t.db, ALL)).toEqual({
      message: "MonthlyGlobalSpend is not a materialized view: nothing to refresh",
      status: "success",
    });
    await sql`CREATE VIEW "MonthlyGlobalSpend" AS SELECT DATE("startTime") AS date, SUM(spend) AS spend
      FROM "LiteLLM_SpendLogs" GROUP BY DATE("startTime")`.execute(t.db);
    try {
      expect(await isMaterializedGlobalSpendView(t.db)).toBe(false);
      expect((await refreshSpend(t.db, ALL)).status).toBe("success");
    } finally {
      await sql`DROP VIEW "MonthlyGlobalSpend"`.execute(t.db);
    }
  });

  it("a materialized MonthlyGlobalSpend is refreshed, so it sees new logs", async () => {
    const total = async () =>
      (
        await sql<{
          s: number;
        }>`SELECT coalesce(sum(spend), 0)::float8 AS s FROM "MonthlyGlobalSpend"`.execute(t.db)
      ).rows[0]!.s;
    await sql`CREATE MATERIALIZED VIEW "MonthlyGlobalSpend" AS SELECT DATE("startTime") AS date, SUM(spend) AS spend
      FROM "LiteLLM_SpendLogs" WHERE request_id LIKE 'mv-%' GROUP BY DATE("startTime")`.execute(t.db);
    try {
      expect(await isMaterializedGlobalSpendView(t.db)).toBe(true);
      expect(await total()).toBe(0);
      await insertLogs(t.db, [
        makeLog({ request_id: "mv-1", startTime: "2026-03-10T01:00:00.000Z", spend: 2.5 }),
        makeLog({ request_id: "mv-2", startTime: "2026-03-11T01:00:00.000Z", spend: 0.25 }),
      ]);
      expect(await total()).toBe(0); // stale until refreshed
      expect(await refreshSpend(t.db, ALL)).toEqual({
        message: "MonthlyGlobalSpend view refreshed",
        status: "success",
      });
      expect(await total()).toBe(2.75);
    } finally {
      await sql`DROP MATERIALIZED VIEW "MonthlyGlobalSpend"`.execute(t.db);
    }
  });

  it("a refresh that fails answers the original's failure message", async () => {
    await sql`CREATE TABLE mv_guard (x int)`.execute(t.db);
    await sql`INSERT INTO mv_guard VALUES (1)`.execute(t.db);
    await sql`CREATE MATERIALIZED VIEW "MonthlyGlobalSpend" AS SELECT 1 / (SELECT count(*)::int FROM mv_guard) AS spend`.execute(
      t.db,
    );
    try {
      await sql`DELETE FROM mv_guard`.execute(t.db);
      expect(await refreshSpend(t.db, ALL)).toEqual({
        message: "Failed to refresh materialized view",
        status: "failure",
      });
    } finally {
      await sql`DROP MATERIALIZED VIEW "MonthlyGlobalSpend"`.execute(t.db);
      await sql`DROP TABLE mv_guard`.execute(t.db);
    }
  });

  it("refuses a user scope", async () => {
    await expect(refreshSpend(t.db, userScope("alice"))).rejects.toMatchObject({ code: "FORBIDDEN" });
  });
});
