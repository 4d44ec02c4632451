import { describe, expect, it } from "vitest";
import { KEY_ALICE as KA, KEY_BOB as KB, spendWindowLogs } from "../src/testing.ts";
import { apiHarness } from "./harness.ts";

/**
 * Validation and REST shapes of the spend, logs and admin procedures (who may call them: the
 * authorization matrix, authMatrix.test.ts). Numbers are worked out by hand from the rows below. NOW pins the 30-day window to start 2026-02-13 00:00 UTC.
 */
const MASTER = "sk-master-spend-api";
const NOW = new Date("2026-03-15T10:00:00.000Z");
const logs = spendWindowLogs("r", { start: "2026-02-13", mid: "2026-03-01", hours: [12, 13] }, [
  {},
  {},
  {},
  { team_id: "tm" },
]);

const h = apiHarness({
  master: MASTER,
  now: NOW,
  teams: [{ team_id: "tm", team_alias: "Team M", spend: 9 }],
  users: [
    { user_id: "alice", user_role: "internal_user", spend: 3 },
    { user_id: "bob", user_role: "internal_user_viewer", spend: 2 },
    { user_id: "vic", user_role: "proxy_admin_viewer", spend: 1 },
  ],
  keys: [
    { raw: "sk-alice", user_id: "alice", spend: 5, key_alias: "a" },
    { raw: "sk-bob", user_id: "bob", spend: 7, key_alias: "b" },
    { raw: "sk-vic", user_id: "vic", spend: 1 },
  ],
  logs,
});
const as = h.as;
const rest = (
  key: string | null,
  method: "GET" | "POST",
  path: string,
  query: Record<string, string> = {},
  body?: unknown,
) => h.rest(key, path, query, { method, body });

describe("admin reports", () => {
  it("answer a proxy_admin_viewer: end users, their spend, spend per team", async () => {
    const v = await as("sk-vic");
    expect(await v.spend.globalAllEndUsers()).toEqual({ end_users: ["e1", "e2"] });
    expect(await v.spend.globalSpendEndUsers({})).toEqual([
      { end_user: "e2", total_count: 1, total_spend: 2.5 },
      { end_user: "e1", total_count: 1, total_spend: 1 },
    ]);
    expect((await v.spend.globalSpendTeams()).total_spend_per_team).toEqual([
      { team_id: "Unassigned", total_spend: 3.5 },
      { team_id: "Team M", total_spend: 0.25 },
    ]);
  });
});

describe("REST", () => {
  it("400s name the field in LiteLLM's error body", async () => {
    const cases: [string, "GET" | "POST", Record<string, string>, unknown, string][] = [
      ["/spend/logs/ui", "GET", { end_date: "2026-03-01 00:00:00" }, undefined, "start_date"],
      ["/spend/logs/ui", "GET", { start_date: "2026-03-01 00:00:00" }, undefined, "end_date"],
      [
        "/spend/logs/ui",
        "GET",
        { start_date: "2026-03-01", end_date: "2026-03-02 00:00:00" },
        undefined,
        "start_date",
      ],
      [
        "/spend/logs/ui",
        "GET",
        { start_date: "2026-03-01 00:00:00", end_date: "2026-03-02 00:00:00", page_size: "101" },
        undefined,
        "page_size",
      ],
      [
        "/spend/logs/ui",
        "GET",
        { start_date: "2026-03-01 00:00:00", end_date: "2026-03-02 00:00:00", page: "0" },
        undefined,
        "page",
      ],
      [
        "/spend/logs/ui",
        "GET",
        { start_date: "2026-03-02 00:00:00", end_date: "2026-03-01 00:00:00" },
        undefined,
        "end_date",
      ],
      ["/spend/logs", "GET", { start_date: "2026-03-01" }, undefined, "end_date"],
      ["/spend/logs", "GET", { start_date: "2026-03-05", end_date: "2026-03-01" }, undefined, "end_date"],
      ["/global/spend/keys", "GET", { limit: "0" }, undefined, "limit"],
      ["/global/spend/keys", "GET", { limit: "1001" }, undefined, "limit"],
      ["/global/spend/models", "GET", { limit: "abc" }, undefined, "limit"],
      ["/global/spend/end_users", "POST", {}, { startTime: "last week" }, "startTime"],
      ["/global/spend/end_users", "POST", {}, { startTime: "2026-03-10", endTime: "2026-03-01" }, "endTime"],
    ];
    for (const [path, method, query, body, field] of cases) {
      const r = await rest(MASTER, method, path, query, body);
      expect(r.status, `${path} ${JSON.stringify(query)}`).toBe(400);
      const err = (r.body as { error: { param: string; type: string; code: string; message: string } }).error;
      expect(err.param, `${path} ${JSON.stringify(query)}`).toBe(field);
      expect(err.type).toBe("bad_request_error");
      expect(err.code).toBe("400");
      expect(err.message).toContain(field);
    }
  });

  it("/spend/logs/ui's UI filters: NUL, a lone surrogate, too long, a sort that is not one: 400 naming it", async () => {
    const cases = [
      ["key_alias", "a\u0000b"],
      ["error_code", "\ud800"],
      ["status_filter", "x".repeat(513)],
      ["model_id", "\u0000"],
      ["sort_by", "metadata"],
      ["sort_order", "sideways"],
    ] as const;
    for (const [field, value] of cases) {
      const r = await rest(MASTER, "GET", "/spend/logs/ui", {
        start_date: "2026-03-01 00:00:00",
        end_date: "2026-03-02 00:00:00",
        [field]: value,
      });
      expect(r.status, field).toBe(400);
      const err = (r.body as { error: { param: string; type: string } }).error;
      expect(err.param).toBe(field);
      expect(err.type).toBe("bad_request_error");
    }
    // Astral characters and empty strings are ordinary values: nothing matches them here.
    for (const [field, value] of [
      ["key_alias", "🔑"],
      ["error_code", ""],
    ] as const) {
      const r = await rest(MASTER, "GET", "/spend/logs/ui", {
        start_date: "2026-02-01 00:00:00",
        end_date: "2026-03-31 00:00:00",
        [field]: value,
      });
      expect(r.status, field).toBe(200);
      expect(r.body).toMatchObject({ data: [], total: 0, total_pages: 0 });
    }
  });

  it("/spend/logs answers the original's bare list, and the original's per-day objects with dates", async () => {
    const list = await rest(MASTER, "GET", "/spend/logs", { api_key: "sk-bob" });
    expect(list.status).toBe(200);
    expect((list.body as { request_id: string }[]).map((r) => r.request_id)).toEqual(["r3"]);
    const sum = await rest(MASTER, "GET", "/spend/logs", {
      start_date: "2026-02-28",
      end_date: "2026-03-02",
    });
    expect(sum.body).toEqual([
      { startTime: "2026-02-28", spend: 0, users: {}, models: {} },
      {
        startTime: "2026-03-01",
        spend: 2.75,
        users: { alice: 0.25, bob: 2.5 },
        models: { m2: 2.75 },
        [KA]: 0.25,
        [KB]: 2.5,
      },
      { startTime: "2026-03-02", spend: 0, users: {}, models: {} },
    ]);
  });

  it("POST /global/spend/end_users takes the original's JSON body; no body means the last 30 days", async () => {
    const none = await rest(MASTER, "POST", "/global/spend/end_users");
    expect(none.body).toEqual([
      { end_user: "e2", total_count: 1, total_spend: 2.5 },
      { end_user: "e1", total_count: 1, total_spend: 1 },
    ]);
    const r = await rest(
      MASTER,
      "POST",
      "/global/spend/end_users",
      {},
      { startTime: "2026-02-01", endTime: "2026-02-28", api_key: "sk-alice" },
    );
    expect(r.body).toEqual([{ end_user: "e1", total_count: 2, total_spend: 65 }]);
  });

  it("reset answers the original's message and zeroes keys and teams only", async () => {
    const r = await rest(MASTER, "POST", "/global/spend/reset");
    expect(r).toEqual({
      status: 200,
      body: { message: "Spend for all API Keys and Teams reset successfully", status: "success" },
    });
    expect(
      (await h.t.db.selectFrom("LiteLLM_VerificationToken").select("spend").execute()).map((k) => k.spend),
    ).toEqual([0, 0, 0]);
    expect(
      (await h.t.db.selectFrom("LiteLLM_TeamTable").select("spend").execute()).map((k) => k.spend),
    ).toEqual([0]);
    expect(
      (await h.t.db.selectFrom("LiteLLM_UserTable").select("spend").orderBy("user_id").execute()).map(
        (u) => u.spend,
      ),
    ).toEqual([3, 2, 1]);
    expect((await h.t.db.selectFrom("LiteLLM_SpendLogs").select("request_id").execute()).length).toBe(4);
    const refresh = await rest(MASTER, "POST", "/global/spend/refresh");
    expect(refresh).toEqual({
      status: 200,
      body: {
        message: "MonthlyGlobalSpend is not a materialized view: nothing to refresh",
        status: "success",
      },
    });
  });
});
