import { insertLogs, makeLog } from "@spendlens/core/testing";
import { describe, expect, it } from "vitest";
import { useTestServer } from "../src/testing.ts";

const MASTER = "sk-master-daily-activity";

const logs = [
  makeLog({
    startTime: "2026-04-01T00:00:00.000Z",
    spend: 1,
    user: "alice",
    team_id: "t1",
    model: "m1",
    prompt_tokens: 10,
    completion_tokens: 5,
    request_tags: '["a","b"]',
  }),
  makeLog({
    startTime: "2026-04-01T12:00:00.000Z",
    spend: 2,
    user: "bob",
    team_id: "t2",
    model: "m2",
    status: "failure",
    request_tags: '["a"]',
  }),
  makeLog({
    startTime: "2026-04-02T23:59:59.999Z",
    spend: 4,
    user: "alice",
    team_id: "litellm-dashboard",
    model: "m1",
    prompt_tokens: 1,
    completion_tokens: 1,
  }),
  makeLog({ startTime: "2026-04-03T00:00:00.000Z", spend: 64, user: "alice", team_id: "t1", model: "m1" }),
];
const Q = "start_date=2026-04-01&end_date=2026-04-02";

const h = useTestServer({
  master: MASTER,
  users: [{ user_id: "alice", user_role: "internal_user" }],
  keys: [{ raw: "sk-alice", user_id: "alice" }],
  setup: (t) => insertLogs(t.db, logs),
});

type Day = {
  date: string;
  metrics: Record<string, number>;
  breakdown: Record<string, Record<string, { metrics: Record<string, number> }>>;
};
type Res = { results: Day[]; metadata: Record<string, number | boolean> };

describe("LiteLLM's daily activity routes over HTTP", () => {
  it("/team/daily/activity as the UI calls it (exclude_team_ids=litellm-dashboard, page=1)", async () => {
    const r = await h.get(`/team/daily/activity?${Q}&page=1&exclude_team_ids=litellm-dashboard`);
    expect(r.status).toBe(200);
    const body = r.body as Res;
    expect(
      body.results.map((d) => [d.date, d.metrics.spend, d.metrics.api_requests, d.metrics.failed_requests]),
    ).toEqual([["2026-04-01", 3, 2, 1]]);
    const d = body.results[0]!;
    expect(Object.keys(d.breakdown.entities!).sort()).toEqual(["t1", "t2"]);
    expect(d.breakdown.entities!.t1!.metrics.total_tokens).toBe(15);
    expect(body.metadata).toMatchObject({
      total_spend: 3,
      total_api_requests: 2,
      page: 1,
      total_pages: 1,
      has_more: false,
    });
  });

  it("/tag/daily/activity counts a request once per tag; /user/daily/activity/aggregated has every row", async () => {
    const tags = (await h.get(`/tag/daily/activity?${Q}&tags=a,b`)).body as Res;
    expect(tags.results[0]!.breakdown.entities!.a!.metrics.spend).toBe(3);
    expect(tags.results[0]!.breakdown.entities!.b!.metrics.spend).toBe(1);
    const agg = (await h.get(`/user/daily/activity/aggregated?${Q}&timezone=-330`)).body as Res;
    expect(agg.results.map((d) => [d.date, d.metrics.spend])).toEqual([
      ["2026-04-02", 4],
      ["2026-04-01", 3],
    ]);
    expect(agg.metadata.total_spend).toBe(7);
  });

  it("/user/daily/activity/aggregated: a kept answer is the same bytes with its Content-Length; a new log shows at once; an internal user gets their own rows", async () => {
    const path = `/user/daily/activity/aggregated?${Q}`;
    const first = await h.get(path);
    const again = await h.get(path);
    expect(again.status).toBe(200);
    expect(again.headers.get("content-length")).toBe(String(Buffer.byteLength(again.text)));
    expect(again.text).toBe(first.text);
    expect((again.body as Res).metadata.total_spend).toBe(7);
    // An internal user: their own rows (alice: 1 + 4), never the admin's kept answer.
    const mine = (await h.get(path, "sk-alice")).body as Res;
    expect(mine.metadata.total_spend).toBe(5);
    expect((await h.get(path)).text).toBe(first.text);
    // A range of its own: empty, kept, then a log for it shows on the next call (exact totals).
    const other = "/user/daily/activity/aggregated?start_date=2026-03-10&end_date=2026-03-20";
    expect(((await h.get(other)).body as Res).results).toEqual([]);
    expect(((await h.get(other)).body as Res).results).toEqual([]);
    await insertLogs(h.t.db, [
      makeLog({ startTime: "2026-03-15T10:00:00.000Z", spend: 0.25, user: "carol" }),
    ]);
    // Built now: streamed in pieces (chunked); kept, then sent whole with its length.
    const after = await h.get(other);
    expect((after.body as Res).results.map((d) => [d.date, d.metrics.spend, d.metrics.api_requests])).toEqual(
      [["2026-03-15", 0.25, 1]],
    );
    const kept = await h.get(other);
    expect(kept.text).toBe(after.text);
    expect(kept.headers.get("content-length")).toBe(String(Buffer.byteLength(kept.text)));
  });

  it("an internal user sees their own rows; another user's id is 403; a bad date is 400 naming it", async () => {
    const mine = (await h.get(`/organization/daily/activity?${Q}`, "sk-alice")).body as Res;
    expect(mine.metadata.total_spend).toBe(5);
    const other = await h.get(`/user/daily/activity?${Q}&user_id=bob`, "sk-alice");
    expect(other.status).toBe(403);
    const bad = await h.get("/agent/daily/activity?start_date=2026-04-01&end_date=April");
    expect(bad.status).toBe(400);
    expect((bad.body as { error: { param: string } }).error.param).toBe("end_date");
    const noKey = await h.get(`/customer/daily/activity?${Q}`, null);
    expect(noKey.status).toBe(401);
  });
});

describe("timezone and include_current_utc_day over HTTP", () => {
  it("a past range is never moved; a bad timezone or flag is 400 naming it", async () => {
    // The range ends long before the caller's local today: LiteLLM passes historical dates through.
    const moved = await h.get(
      `/user/daily/activity/aggregated?${Q}&timezone=480&include_current_utc_day=true`,
    );
    expect(moved.status).toBe(200);
    expect((moved.body as Res).results.map((d) => [d.date, d.metrics.spend])).toEqual([
      ["2026-04-02", 4],
      ["2026-04-01", 3],
    ]);
    const cases: [string, string][] = [
      ["/user/daily/activity", "timezone=1.5"],
      ["/user/daily/activity/aggregated", "timezone=-1441"],
      ["/team/daily/activity", "timezone=1441"],
      ["/tag/daily/activity", "timezone=abc"],
      ["/user/daily/activity", "include_current_utc_day=maybe"],
      ["/user/daily/activity/aggregated", "include_current_utc_day=2"],
    ];
    for (const [path, q] of cases) {
      const r = await h.get(`${path}?${Q}&${q}`);
      const param = q.split("=")[0];
      expect([path, q, r.status, (r.body as { error: { param: string } }).error.param]).toEqual([
        path,
        q,
        400,
        param,
      ]);
    }
  });

  it("include_current_utc_day with a range ending today: west of UTC it reads today's UTC bucket", async () => {
    // Real clock: a log now (today's UTC day); a caller 14 hours west asks for their local today, which
    // is yesterday in UTC terms until 14:00 UTC (then the same day, and the range holds it anyway).
    const now = new Date();
    const localToday = new Date(now.getTime() - 840 * 60_000).toISOString().slice(0, 10);
    const q = `start_date=${localToday}&end_date=${localToday}&timezone=840`;
    const before = (
      (await h.get(`/user/daily/activity/aggregated?${q}&include_current_utc_day=true`)).body as Res
    ).metadata.total_api_requests as number;
    await insertLogs(h.t.db, [makeLog({ startTime: now.toISOString(), spend: 0.5, user: "tz" })]);
    const on = (await h.get(`/user/daily/activity/aggregated?${q}&include_current_utc_day=true`)).body as Res;
    expect(on.metadata.total_api_requests).toBe(before + 1);
    expect(on.results.map((d) => d.date)).toContain(now.toISOString().slice(0, 10));
  });
});

describe("GET /global/activity/cache_hits", () => {
  it("one row per key alias, call type and model", async () => {
    const r = await h.get(`/global/activity/cache_hits?${Q}`);
    expect(r.status).toBe(200);
    // makeLog: cache_hit 'False', call_type 'acompletion', no key alias.
    expect(r.body).toEqual([
      {
        api_key: "Unnamed Key",
        call_type: "acompletion",
        model: "m1",
        total_rows: 2,
        cache_hit_true_rows: 0,
        failed_rows: 0,
        cached_completion_tokens: 0,
        generated_completion_tokens: 6,
      },
      {
        api_key: "Unnamed Key",
        call_type: "acompletion",
        model: "m2",
        total_rows: 1,
        cache_hit_true_rows: 0,
        failed_rows: 1,
        cached_completion_tokens: 0,
        generated_completion_tokens: 0,
      },
    ]);
    expect((await h.get("/global/activity/cache_hits?start_date=2026-04-01")).status).toBe(400);
  });
});

describe("tag analytics over HTTP", () => {
  it("/tag/summary with repeated tag_filters; /tag/distinct; /tag/dau needs a real date", async () => {
    const r = await h.get(`/tag/summary?${Q}&tag_filters=a&tag_filters=b`);
    expect(r.status).toBe(200);
    // No key owners in these logs: requests count, users do not.
    expect(r.body).toEqual({
      results: [
        {
          tag: "a",
          unique_users: 0,
          total_requests: 2,
          successful_requests: 1,
          failed_requests: 1,
          total_tokens: 15,
          total_spend: 3,
        },
        {
          tag: "b",
          unique_users: 0,
          total_requests: 1,
          successful_requests: 1,
          failed_requests: 0,
          total_tokens: 15,
          total_spend: 1,
        },
      ],
    });
    expect((await h.get("/tag/distinct")).body).toEqual({ results: [{ tag: "a" }, { tag: "b" }] });
    const bad = await h.get("/tag/dau?start_date=yesterday");
    expect([bad.status, (bad.body as { error: { param: string } }).error.param]).toEqual([400, "start_date"]);
  });
});
