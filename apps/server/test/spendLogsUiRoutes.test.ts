import { insertLogs, makeLog } from "@spendlens/core/testing";
import { describe, expect, it } from "vitest";
import { useTestServer } from "../src/testing.ts";

const MASTER = "sk-master-logs-ui-routes";

const logs = [
  makeLog({
    request_id: "r1",
    startTime: "2026-06-01T10:00:00.000Z",
    spend: 1,
    user: "alice",
    model: "m1",
    status: "success",
  }),
  makeLog({
    request_id: "r2",
    startTime: "2026-06-01T11:00:00.000Z",
    spend: 5,
    user: "alice",
    model: "m2",
    status: "failure",
    metadata: '{"error_information":{"error_code":"429"},"user_api_key_alias":"k-a"}',
  }),
  makeLog({
    request_id: "r3",
    startTime: "2026-06-01T12:00:00.000Z",
    spend: 3,
    user: "bob",
    model: "m1",
    end_user: "eu",
    status: "failure",
    metadata: '{"error_information":{"error_code":"500"}}',
  }),
  makeLog({
    request_id: "r/4",
    startTime: "2026-06-02T23:59:59.999Z",
    spend: 2,
    user: "bob",
    model: "m1",
    model_id: "d9",
  }),
  makeLog({ request_id: "r5", startTime: "2026-06-03T00:00:00.000Z", spend: 7, user: "bob", model: "m1" }),
];

const h = useTestServer({
  master: MASTER,
  users: [{ user_id: "alice", user_role: "internal_user" }],
  keys: [{ raw: "sk-alice", user_id: "alice" }],
  setup: async (t) => {
    await insertLogs(t.db, logs);
    await t.db
      .updateTable("LiteLLM_SpendLogs")
      .set({ session_id: "s1" })
      .where("request_id", "in", ["r1", "r2", "r3"])
      .execute();
  },
});

const W = "start_date=2026-06-01%2000:00:00&end_date=2026-06-02%2023:59:59.999";
type Page = { data: { request_id: string }[]; total: number; total_pages: number };
const ids = (b: unknown) => (b as Page).data.map((r) => r.request_id);

describe("the Logs page's calls", () => {
  it("/spend/logs/ui honours status_filter, model, model_id, end_user, key_alias, error_code, sort", async () => {
    const cases: [string, string[]][] = [
      ["", ["r/4", "r3", "r2", "r1"]],
      ["&status_filter=failure", ["r3", "r2"]],
      ["&status_filter=success", ["r/4", "r1"]],
      ["&model=m1", ["r/4", "r3", "r1"]],
      ["&model_id=d9", ["r/4"]],
      ["&end_user=eu", ["r3"]],
      ["&key_alias=k-a", ["r2"]],
      ["&error_code=500", ["r3"]],
      ["&sort_by=spend&sort_order=asc", ["r1", "r/4", "r3", "r2"]],
    ];
    for (const [q, want] of cases) {
      const r = await h.get(`/spend/logs/ui?${W}${q}`);
      expect([q, r.status, ids(r.body), (r.body as Page).total]).toEqual([q, 200, want, want.length]);
    }
    const bad = await h.get(`/spend/logs/ui?${W}&sort_by=messages`);
    expect(bad.status).toBe(400);
    expect((bad.body as { error: { param: string } }).error.param).toBe("sort_by");
  });

  it("/spend/logs/ui/{request_id}: the log with its payload; null for none or another user's", async () => {
    const r = await h.get("/spend/logs/ui/r1");
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      request_id: "r1",
      spend: 1,
      session_id: "s1",
      messages: {},
      response: {},
    });
    expect((await h.get(`/spend/logs/ui/${encodeURIComponent("r/4")}`)).body).toMatchObject({
      request_id: "r/4",
    });
    expect((await h.get("/spend/logs/ui/nope")).body).toBeNull();
    expect((await h.get("/spend/logs/ui/r3", "sk-alice")).body).toBeNull();
    expect((await h.get("/spend/logs/ui/r2", "sk-alice")).body).toMatchObject({ request_id: "r2" });
  });

  it("/spend/logs/session/ui: oldest first, paginated, scoped", async () => {
    const p1 = await h.get("/spend/logs/session/ui?session_id=s1&page_size=2");
    expect([ids(p1.body), (p1.body as Page).total, (p1.body as Page).total_pages]).toEqual([
      ["r1", "r2"],
      3,
      2,
    ]);
    const p2 = await h.get("/spend/logs/session/ui?session_id=s1&page_size=2&page=2");
    expect(ids(p2.body)).toEqual(["r3"]);
    const mine = await h.get("/spend/logs/session/ui?session_id=s1", "sk-alice");
    expect(ids(mine.body)).toEqual(["r1", "r2"]);
    expect((await h.get("/spend/logs/session/ui")).status).toBe(400);
  });

  it("/spend/logs/v2 takes days; /spend/logs?summarize=false returns the logs", async () => {
    const v2 = await h.get("/spend/logs/v2?start_date=2026-06-01&end_date=2026-06-02&model=m1");
    expect(ids(v2.body)).toEqual(["r/4", "r3", "r1"]);
    const raw = await h.get("/spend/logs?start_date=2026-06-02&end_date=2026-06-03&summarize=false");
    expect((raw.body as { request_id: string }[]).map((r) => r.request_id)).toEqual(["r5", "r/4"]);
    const summary = await h.get("/spend/logs?start_date=2026-06-02&end_date=2026-06-03");
    expect(
      (summary.body as { startTime: string; spend: number }[]).map((d) => [d.startTime, d.spend]),
    ).toEqual([
      ["2026-06-02", 2],
      ["2026-06-03", 7],
    ]);
  });
});
