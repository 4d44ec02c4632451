import { KEY_ALICE as KA, KEY_BOB as KB, spendWindowLogs } from "@spendlens/api/testing";
import { daysAgo, insertLogs } from "@spendlens/core/testing";
import { describe, expect, it } from "vitest";
import { useCliDb, useCliServer } from "./harness.ts";

/**
 * The issue-4 commands through the real binary and a server (the numbers are core's tests'; here each
 * command's view, its flags, and its errors in one line). The CLI runs in its own process with the real
 * clock, so the rows sit at days relative to today: the 30-day window starts at UTC midnight of daysAgo(30).
 */
const MASTER = "sk-master-spend-cli";
const D30 = daysAgo(30);
const D5 = daysAgo(5);
/** Each CLI run is a fresh process opening the database: allow several per test on a busy machine. */
const SLOW = 400_000;

const logs = spendWindowLogs("c", { start: D30, mid: D5, hours: [10, 11] }, [
  { team_id: "ta" },
  {},
  { team_id: "ta" },
]);

const h = useCliDb({
  users: [
    { user_id: "alice", user_role: "internal_user", spend: 3 },
    { user_id: "bob", user_role: "internal_user", spend: 2 },
  ],
  keys: [
    { raw: "sk-alice", user_id: "alice", spend: 5, key_alias: "alias-a" },
    { raw: "sk-bob", user_id: "bob", spend: 7, key_alias: "alias-b" },
  ],
  teams: [{ team_id: "ta", team_alias: "Team A", spend: 9 }],
  setup: (t) => insertLogs(t.db, logs),
});
const { cli } = useCliServer(h, MASTER);
/** As alice, an internal user. */
const asAlice = (args: string[]) => cli(["--key", "sk-alice", ...args]);
const json = async (args: string[]) => {
  const r = await cli(["--json", ...args]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
};

describe("spendlens spend and logs commands", () => {
  it(
    "global-spend-logs: per day from the window start (the edge row in, 1 ms before out)",
    async () => {
      expect(await json(["global-spend-logs"])).toEqual([
        { date: D30, spend: 1 },
        { date: D5, spend: 2.75 },
      ]);
    },
    SLOW,
  );

  it(
    "global-spend-keys, global-spend-models (CSV), global-spend-teams",
    async () => {
      expect(await json(["global-spend-keys", "--limit", "1"])).toEqual([
        { api_key: KB, key_alias: "alias-b", key_name: null, total_spend: 2.5 },
      ]);
      const csv = await cli(["--csv", "global-spend-models"]);
      expect(csv.stdout).toBe("model,total_spend,total_tokens\nm2,2.75,0\nm1,1,0\n");
      expect(await json(["global-spend-teams"])).toEqual([
        { date: D30, "Team A": 1 },
        { date: D5, "Team A": 2.5, Unassigned: 0.25 },
      ]);
    },
    SLOW,
  );

  it(
    "spend-logs-ui prints a page (table with the totals below it), spend-logs a summary",
    async () => {
      const start = `${daysAgo(40)} 00:00:00`;
      const end = `${daysAgo(0)} 23:59:59`;
      const page = await json([
        "spend-logs-ui",
        "--start-date",
        start,
        "--end-date",
        end,
        "--page-size",
        "2",
        "--page",
        "2",
      ]);
      expect(page.data.map((r: { request_id: string }) => r.request_id)).toEqual(["c1", "c2"]);
      expect([page.total, page.page, page.page_size, page.total_pages]).toEqual([4, 2, 2, 2]);
      const table = await cli([
        "spend-logs-ui",
        "--start-date",
        start,
        "--end-date",
        end,
        "--min-spend",
        "2",
      ]);
      expect(table.stdout).toMatch(/^request_id\s+startTime/);
      expect(table.stdout).toMatch(/^c2\s/m);
      expect(table.stdout).toMatch(/^c3\s/m);
      expect(table.stdout).not.toMatch(/^c1\s/m);
      expect(table.stdout).toContain("total: 2\n");
      const days = await json(["spend-logs", "--start-date", daysAgo(6), "--end-date", D5]);
      expect(days).toEqual([
        { date: daysAgo(6), spend: 0, users: {}, models: {}, api_keys: {} },
        {
          date: D5,
          spend: 2.75,
          users: { alice: 0.25, bob: 2.5 },
          models: { m2: 2.75 },
          api_keys: { [KA]: 0.25, [KB]: 2.5 },
        },
      ]);
      const list = await json(["spend-logs", "--user-id", "alice"]);
      expect(list.data.map((r: { request_id: string }) => r.request_id)).toEqual(["c4", "c1", "c2"]);
      expect([list.truncated, list.limit]).toEqual([false, 1000]);
    },
    SLOW,
  );

  it(
    "end users, spend-users, and one clear line for bad input",
    async () => {
      expect(await json(["global-all-end-users"])).toEqual([{ end_user: "e1" }, { end_user: "e2" }]);
      expect(
        await json(["global-spend-end-users", "--api-key", "sk-alice", "--start-time", daysAgo(31)]),
      ).toEqual([{ end_user: "e1", total_count: 2, total_spend: 65 }]);
      expect(await json(["spend-users", "--user-id", "bob"])).toEqual([
        {
          user_id: "bob",
          user_alias: null,
          user_email: null,
          user_role: "internal_user",
          team_id: null,
          spend: 2,
          max_budget: null,
        },
      ]);
      // A bad value: the procedure's validation, in one line.
      const bad = await cli([
        "spend-logs-ui",
        "--start-date",
        "2026-13-01 00:00:00",
        "--end-date",
        "2027-01-01 00:00:00",
      ]);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toBe(
        "spendlens: start_date: must be a UTC datetime in the form YYYY-MM-DD HH:MM:SS (400 BAD_REQUEST)\n",
      );
    },
    SLOW,
  );

  it(
    "global-spend-reset zeroes keys and teams; spend-keys shows it; global-spend-refresh",
    async () => {
      expect(await json(["global-spend-reset"])).toEqual({
        message: "Spend for all API Keys and Teams reset successfully",
        status: "success",
      });
      expect((await json(["spend-keys"])).map((k: { spend: number }) => k.spend)).toEqual([0, 0]);
      expect(await json(["global-spend-refresh"])).toEqual({
        message: "MonthlyGlobalSpend is not a materialized view: nothing to refresh",
        status: "success",
      });
    },
    SLOW,
  );
});

describe("spendlens --url with an internal user's key", () => {
  it(
    "sees only their own rows and gets 403 for another user's id or an admin command, in one line",
    async () => {
      const own = await asAlice(["--json", "spend-keys"]);
      expect(JSON.parse(own.stdout).map((k: { token: string }) => k.token)).toEqual([KA]);
      const other = await asAlice(["spend-logs", "--user-id", "bob"]);
      expect(other.code).toBe(1);
      expect(other.stderr).toBe("spendlens: internal users may only see their own data (403 FORBIDDEN)\n");
      const reset = await asAlice(["global-spend-reset"]);
      expect(reset.stderr).toBe("spendlens: only proxy_admin may do this (403 FORBIDDEN)\n");
    },
    SLOW,
  );
});
