import { KEY_ALICE as KA, KEY_BOB as KB, spendWindowLogs } from "@spendlens/api/testing";
import { insertLogs } from "@spendlens/core/testing";
import { describe, expect, it } from "vitest";
import { useTestServer } from "../src/testing.ts";

/**
 * The original routes through a real HTTP server: paths, query names, JSON bodies and response
 * field names as the original has them. Numbers worked out by hand from the rows below.
 * NOW = 2026-03-15 10:00 UTC, so the 30-day window starts 2026-02-13 00:00:00.000 UTC.
 */
const MASTER = "sk-master-spend-server";
const NOW = new Date("2026-03-15T10:00:00.000Z");
// In the window (first instant) / out of it (1 ms before); teams and tokens on some.
const logs = spendWindowLogs("r", { start: "2026-02-13", mid: "2026-03-01", hours: [12, 13] }, [
  { team_id: "ta", prompt_tokens: 5 },
  { team_id: "ta" },
  { team_id: "tb", completion_tokens: 7 },
]);

const h = useTestServer({
  master: MASTER,
  now: NOW,
  users: [
    { user_id: "alice", user_role: "internal_user", spend: 3 },
    { user_id: "bob", user_role: "internal_user", spend: 2 },
  ],
  keys: [
    { raw: "sk-alice", user_id: "alice", spend: 5, key_alias: "alias-a", key_name: "sk-...a" },
    { raw: "sk-bob", user_id: "bob", spend: 7, key_alias: "alias-b", key_name: "sk-...b" },
  ],
  teams: [
    { team_id: "ta", team_alias: "Team A", spend: 11 },
    { team_id: "tb", team_alias: null, spend: 12 },
  ],
  setup: async (t) => {
    // LiteLLM's table has a password column (not in spendlens's types): it must never come back.
    await (t.db as any).updateTable("LiteLLM_UserTable").set({ password: "secret-hash" }).execute();
    await insertLogs(t.db, logs);
  },
});
const req = h.request;
const get = (path: string, key?: string | null) => req("GET", path, key);

describe("GET /spend/keys and /spend/users", () => {
  it("keys highest spend first with LiteLLM's field names; internal users their own", async () => {
    const r = await get("/spend/keys");
    expect(r.status).toBe(200);
    expect(r.body.map((k: any) => [k.token, k.spend, k.key_alias, k.key_name, k.user_id])).toEqual([
      [KB, 7, "alias-b", "sk-...b", "bob"],
      [KA, 5, "alias-a", "sk-...a", "alice"],
    ]);
    const own = await get("/spend/keys", "sk-alice");
    expect(own.body.map((k: any) => k.token)).toEqual([KA]);
  });

  it("users without the password column; ?user_id one row; internal users themselves, another id 403", async () => {
    const all = await get("/spend/users");
    expect(all.body.map((u: any) => [u.user_id, u.spend, u.user_role])).toEqual([
      ["alice", 3, "internal_user"],
      ["bob", 2, "internal_user"],
    ]);
    expect(JSON.stringify(all.body)).not.toContain("secret-hash");
    for (const u of all.body) expect(u).not.toHaveProperty("password");
    expect((await get("/spend/users?user_id=bob")).body.map((u: any) => u.user_id)).toEqual(["bob"]);
    expect((await get("/spend/users", "sk-bob")).body.map((u: any) => u.user_id)).toEqual(["bob"]);
    const denied = await get("/spend/users?user_id=alice", "sk-bob");
    expect(denied.status).toBe(403);
    expect(denied.body.error.type).toBe("permission_error");
  });
});

describe("GET /spend/logs/ui and /spend/logs", () => {
  it("logs/ui: the original's page shape, newest first, raw key hashed", async () => {
    const r = await get(
      "/spend/logs/ui?start_date=2026-02-01%2000:00:00&end_date=2026-03-31%2000:00:00&page_size=2&page=1",
    );
    expect(r.status).toBe(200);
    expect(Object.keys(r.body).sort()).toEqual(["data", "page", "page_size", "total", "total_pages"]);
    expect(r.body.data.map((x: any) => x.request_id)).toEqual(["r4", "r3"]);
    expect([r.body.total, r.body.page, r.body.page_size, r.body.total_pages]).toEqual([4, 1, 2, 2]);
    const byKey = await get(
      "/spend/logs/ui?start_date=2026-02-01%2000:00:00&end_date=2026-03-31%2000:00:00&api_key=sk-alice&min_spend=0.5",
    );
    expect(byKey.body.data.map((x: any) => x.request_id)).toEqual(["r1", "r2"]);
    expect(byKey.body.data[0]).toMatchObject({
      api_key: KA,
      user: "alice",
      spend: 1,
      startTime: "2026-02-13T00:00:00.000Z",
      model: "m1",
    });
    const bad = await get("/spend/logs/ui?start_date=2026-02-01%2000:00:00");
    expect(bad.status).toBe(400);
    expect(bad.body.error.param).toBe("end_date");
    const denied = await get(
      "/spend/logs/ui?start_date=2026-02-01%2000:00:00&end_date=2026-03-31%2000:00:00&user_id=bob",
      "sk-alice",
    );
    expect(denied.status).toBe(403);
  });

  it("logs: a list by request_id / api_key / user_id, and the per-day summary with zero days", async () => {
    expect((await get("/spend/logs?request_id=r3")).body.map((x: any) => x.request_id)).toEqual(["r3"]);
    expect((await get("/spend/logs?api_key=sk-bob")).body.map((x: any) => x.request_id)).toEqual(["r3"]);
    expect((await get("/spend/logs?user_id=alice")).body.map((x: any) => x.request_id)).toEqual([
      "r4",
      "r1",
      "r2",
    ]);
    expect((await get("/spend/logs", "sk-bob")).body.map((x: any) => x.request_id)).toEqual(["r3"]);
    expect((await get("/spend/logs?user_id=alice", "sk-bob")).status).toBe(403);
    const s = await get("/spend/logs?start_date=2026-02-12&end_date=2026-02-14");
    expect(s.body).toEqual([
      { startTime: "2026-02-12", spend: 64, users: { alice: 64 }, models: { m1: 64 }, [KA]: 64 },
      { startTime: "2026-02-13", spend: 1, users: { alice: 1 }, models: { m1: 1 }, [KA]: 1 },
      { startTime: "2026-02-14", spend: 0, users: {}, models: {} },
    ]);
  });
});

describe("the 30-day routes", () => {
  it("GET /global/spend/logs: {date, spend} per day from the window start (edge row in, 1 ms before out)", async () => {
    expect((await get("/global/spend/logs")).body).toEqual([
      { date: "2026-02-13", spend: 1 },
      { date: "2026-03-01", spend: 2.75 },
    ]);
    expect((await get("/global/spend/logs?api_key=sk-bob")).body).toEqual([
      { date: "2026-03-01", spend: 2.5, api_key: KB },
    ]);
    expect((await get("/global/spend/logs", "sk-alice")).body).toEqual([
      { date: "2026-02-13", spend: 1, api_key: KA, user: "alice" },
      { date: "2026-03-01", spend: 0.25, api_key: KA, user: "alice" },
    ]);
  });

  it("GET /global/spend/keys: api_key, key_alias, key_name, total_spend", async () => {
    expect((await get("/global/spend/keys")).body).toEqual([
      { api_key: KB, key_alias: "alias-b", key_name: "sk-...b", total_spend: 2.5 },
      { api_key: KA, key_alias: "alias-a", key_name: "sk-...a", total_spend: 1.25 },
    ]);
    expect((await get("/global/spend/keys?limit=1")).body).toHaveLength(1);
    expect((await get("/global/spend/keys", "sk-bob")).body).toEqual([
      { api_key: KB, key_alias: "alias-b", key_name: "sk-...b", total_spend: 2.5 },
    ]);
    const bad = await get("/global/spend/keys?limit=1001");
    expect([bad.status, bad.body.error.param]).toEqual([400, "limit"]);
  });

  it("GET /global/spend/models: model, total_spend (and total_tokens)", async () => {
    expect((await get("/global/spend/models")).body).toEqual([
      { model: "m2", total_spend: 2.75, total_tokens: 7 },
      { model: "m1", total_spend: 1, total_tokens: 5 },
    ]);
    expect((await get("/global/spend/models?limit=1", "sk-alice")).body).toEqual([
      { model: "m1", total_spend: 1, total_tokens: 5 },
    ]);
  });

  it("GET /global/spend/teams: daily_spend by date, teams, total_spend_per_team; admin only", async () => {
    expect((await get("/global/spend/teams")).body).toEqual({
      daily_spend: [
        { date: "2026-02-13", "Team A": 1 },
        { date: "2026-03-01", Unassigned: 2.75 },
      ],
      teams: ["Unassigned", "Team A"],
      total_spend_per_team: [
        { team_id: "Unassigned", total_spend: 2.75 },
        { team_id: "Team A", total_spend: 1 },
      ],
    });
    expect((await get("/global/spend/teams", "sk-alice")).status).toBe(403);
  });

  it("GET /global/all_end_users and POST /global/spend/end_users", async () => {
    expect((await get("/global/all_end_users")).body).toEqual({ end_users: ["e1", "e2"] });
    expect((await req("POST", "/global/spend/end_users")).body).toEqual([
      { end_user: "e2", total_count: 1, total_spend: 2.5 },
      { end_user: "e1", total_count: 1, total_spend: 1 },
    ]);
    const r = await req("POST", "/global/spend/end_users", MASTER, {
      startTime: "2026-02-12",
      endTime: "2026-02-13",
      api_key: "sk-alice",
    });
    expect(r.body).toEqual([{ end_user: "e1", total_count: 2, total_spend: 65 }]);
    expect((await req("POST", "/global/spend/end_users", "sk-alice")).status).toBe(403);
  });
});

describe("POST /global/spend/reset and /global/spend/refresh", () => {
  it("proxy_admin only; reset zeroes keys and teams, keeps logs and users", async () => {
    expect((await req("POST", "/global/spend/reset", "sk-alice")).status).toBe(403);
    expect((await req("POST", "/global/spend/refresh", "sk-alice")).status).toBe(403);
    expect((await req("GET", "/global/spend/reset")).status).toBe(405);
    const r = await req("POST", "/global/spend/reset");
    expect({ status: r.status, body: r.body }).toEqual({
      status: 200,
      body: { message: "Spend for all API Keys and Teams reset successfully", status: "success" },
    });
    expect((await get("/spend/keys")).body.map((k: any) => k.spend)).toEqual([0, 0]);
    expect((await get("/spend/users")).body.map((u: any) => u.spend)).toEqual([3, 2]);
    expect((await get("/spend/logs?user_id=alice")).body).toHaveLength(3);
    const f = await req("POST", "/global/spend/refresh");
    expect(f.status).toBe(200);
    expect(f.body.status).toBe("success");
  });
});
