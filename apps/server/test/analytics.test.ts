import { describe, expect, it } from "vitest";
import {
  brute,
  KEYS,
  keyedRows,
  type Measures,
  makeAnalyticsLogs,
  writeAnalyticsLogs,
} from "../../../packages/core/test/analyticsFixtures.ts";
import { useTestServer } from "../src/testing.ts";

/** GET and POST /spendlens/analytics and GET /spendlens/logs through a real server. */
const MASTER = "sk-master-analytics-http";
const logs = makeAnalyticsLogs(300, 11);

const h = useTestServer({
  master: MASTER,
  users: [{ user_id: "alice", user_role: "internal_user" }],
  keys: [{ raw: "sk-alice-http", user_id: "alice" }],
  setup: (t) => writeAnalyticsLogs(t.db, logs),
});
const get = h.get;
const post = h.post;

function expectSame(actual: Map<string, Measures>, expected: Map<string, Measures>) {
  expect(expected.size).toBeGreaterThan(0);
  expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
  for (const [k, e] of expected) {
    const a = actual.get(k)!;
    expect({ k, requests: a.requests, tokens: a.total_tokens }).toEqual({
      k,
      requests: e.requests,
      tokens: e.total_tokens,
    });
    expect(a.spend).toBeCloseTo(e.spend, 9);
  }
}

describe("GET /spendlens/analytics", () => {
  it("dims, a Paris day bucket and any-of filters in the query string equal the brute force", async () => {
    const r = await get(
      "/spendlens/analytics?dims=model_group,day&timezone=Europe/Paris&start=2026-03-25&end=2026-04-02&model_group=g1,g2&api_key=sk-analytics-b",
    );
    expect(r.status).toBe(200);
    expect(r.body).toEqual(
      expect.objectContaining({
        start: "2026-03-24T23:00:00.000Z",
        end: "2026-04-02T22:00:00.000Z",
        timezone: "Europe/Paris",
        bucket: "day",
        source: "raw_logs",
        truncated: false,
      }),
    );
    const want = brute(logs, {
      dims: ["model_group"],
      bucket: "day",
      tz: "Europe/Paris",
      from: "2026-03-24T23:00:00Z",
      to: "2026-04-02T22:00:00Z",
      filters: { model_group: ["g1", "g2"], api_key: [KEYS.b] },
    });
    expectSame(keyedRows(r.body.rows, ["model_group"], "day"), want);
  });

  it("?format=csv gives the rows as CSV", async () => {
    const r = await get("/spendlens/analytics?dims=week,provider&start=2026-02-20&end=2026-04-09&format=csv");
    expect(r.status).toBe(200);
    expect(r.type).toMatch(/^text\/csv/);
    const lines = r.text.trim().split("\n");
    expect(lines[0]).toBe(
      "week,bucket_start,provider,requests,spend,prompt_tokens,completion_tokens,total_tokens",
    );
    const want = brute(logs, {
      dims: ["provider"],
      bucket: "week",
      from: "2026-02-20T00:00:00Z",
      to: "2026-04-10T00:00:00Z",
    });
    expect(lines).toHaveLength(want.size + 1);
    expect(lines[1]).toMatch(/^2026-02-16,2026-02-16T00:00:00.000Z,/);
  });

  it("POST with a JSON body: arrays, a null filter, hour buckets in Kolkata, tags in full", async () => {
    const r = await post("/spendlens/analytics", {
      dims: ["hour", "tag"],
      timezone: "Asia/Kolkata",
      start: "2026-03-27T18:30:00Z",
      end: "2026-03-29T18:30:00+00:00",
      team: ["t1", null],
      attribution: "full",
    });
    expect(r.status).toBe(200);
    expect(r.body.bucket).toBe("hour");
    const want = brute(logs, {
      dims: ["tag"],
      bucket: "hour",
      tz: "Asia/Kolkata",
      from: "2026-03-27T18:30:00Z",
      to: "2026-03-29T18:30:00Z",
      filters: { team: ["t1", null] },
      attribution: "full",
    });
    expectSame(keyedRows(r.body.rows, ["tag"], "hour"), want);
  });

  it("order_by and limit", async () => {
    const r = await get(
      "/spendlens/analytics?dims=user,model&start=2026-02-20&end=2026-04-09&order_by=spend&limit=2",
    );
    const want = [
      ...brute(logs, {
        dims: ["user", "model"],
        from: "2026-02-20T00:00:00Z",
        to: "2026-04-10T00:00:00Z",
      }).entries(),
    ]
      .sort((a, b) => b[1].spend - a[1].spend)
      .slice(0, 2)
      .map(([k]) => k);
    expect(r.body.rows.map((x: any) => `${x.user}|${x.model}`)).toEqual(want);
    expect(r.body.truncated).toBe(true);
  });

  it("400 names the field; 401 without a key", async () => {
    for (const [q, param] of [
      ["start=2026-03-01&end=2026-03-02&timezone=Nowhere/Land", "timezone"],
      ["start=2026-03-01&end=2026-02-01", "end"],
      ["start=2026-03-01", "end"],
      ["start=2026-03-01&end=2026-03-02&limit=100000", "limit"],
      ["start=2026-03-01&end=2026-03-02&dims=colour", "dims.0"],
    ] as const) {
      const r = await get(`/spendlens/analytics?${q}`);
      expect({ q, status: r.status, param: r.body.error.param }).toEqual({ q, status: 400, param });
    }
    const p = await post("/spendlens/analytics", {
      start: "2026-03-01",
      end: "2026-03-02",
      timezone: "UTC+2",
    });
    expect([p.status, p.body.error.param]).toEqual([400, "timezone"]);
    expect((await get("/spendlens/analytics?start=2026-03-01&end=2026-03-02", null)).status).toBe(401);
  });

  it("an internal user: own rows only; another user is a 403", async () => {
    const r = await get(
      "/spendlens/analytics?dims=day,model&start=2026-02-20&end=2026-04-09",
      "sk-alice-http",
    );
    expect(r.status).toBe(200);
    expectSame(
      keyedRows(r.body.rows, ["model"], "day"),
      brute(logs, {
        dims: ["model"],
        bucket: "day",
        from: "2026-02-20T00:00:00Z",
        to: "2026-04-10T00:00:00Z",
        user: "alice",
      }),
    );
    const f = await get("/spendlens/analytics?start=2026-02-20&end=2026-04-09&user=bob", "sk-alice-http");
    expect(f.status).toBe(403);
    const p = await post(
      "/spendlens/analytics",
      { start: "2026-02-20", end: "2026-04-09", user: ["alice", "carol"] },
      "sk-alice-http",
    );
    expect(p.status).toBe(403);
  });
});

describe("GET /spendlens/logs", () => {
  const ordered = (xs: typeof logs) =>
    [...xs]
      .sort((a, b) =>
        a.startTime === b.startTime
          ? b.request_id < a.request_id
            ? -1
            : 1
          : Date.parse(b.startTime) - Date.parse(a.startTime),
      )
      .map((l) => l.request_id);

  it("pages through every log once with next_cursor; include_total=true gives the exact total", async () => {
    // Ids are an-11-<n>; they sort alike under every collation only within the same length, so page
    // one model (a third of the logs) and compare as sets plus the time order.
    const seen: string[] = [];
    const times: string[] = [];
    let cursor = "";
    for (let i = 0; i < 100; i++) {
      const r = await get(
        `/spendlens/logs?model=claude-3&limit=13&include_total=true${cursor ? `&cursor=${cursor}` : ""}`,
      );
      expect(r.status).toBe(200);
      expect(r.body.total).toBe(logs.filter((l) => l.model === "claude-3").length);
      seen.push(...r.body.data.map((x: any) => x.request_id));
      times.push(...r.body.data.map((x: any) => x.startTime));
      if (!r.body.has_more) {
        expect(r.body.next_cursor).toBe(null);
        break;
      }
      cursor = r.body.next_cursor;
    }
    const want = logs.filter((l) => l.model === "claude-3");
    expect(seen).toHaveLength(want.length);
    expect(new Set(seen)).toEqual(new Set(want.map((l) => l.request_id)));
    expect(times).toEqual([...times].sort().reverse());
    const noTotal = await get("/spendlens/logs?limit=5");
    expect(noTotal.body.total).toBe(null);
    expect(noTotal.body.has_more).toBe(true);
    expect(noTotal.body.data.map((x: any) => x.request_id)).toEqual(ordered(logs).slice(0, 5));
  });

  it("filters as /spend/logs/ui (raw sk- key, datetimes); 400 on a bad cursor; 403 for another user", async () => {
    const r = await get(
      "/spendlens/logs?api_key=sk-analytics-c&start_date=2026-03-01%2000:00:00&end_date=2026-03-10%2000:00:00&limit=100&include_total=true",
    );
    const want = logs.filter(
      (l) =>
        l.api_key === KEYS.c &&
        l.startTime >= "2026-03-01T00:00:00.000Z" &&
        l.startTime <= "2026-03-10T00:00:00.000Z",
    );
    expect(r.body.total).toBe(want.length);
    expect(new Set(r.body.data.map((x: any) => x.request_id))).toEqual(
      new Set(want.map((l) => l.request_id)),
    );
    const bad = await get("/spendlens/logs?cursor=%%%");
    expect([bad.status, bad.body.error.param]).toEqual([400, "cursor"]);
    const bad2 = await get(`/spendlens/logs?cursor=${Buffer.from('["x","y"]').toString("base64url")}`);
    expect([bad2.status, bad2.body.error.param]).toEqual([400, "cursor"]);
    expect((await get("/spendlens/logs?user_id=bob", "sk-alice-http")).status).toBe(403);
    const own = await get("/spendlens/logs?limit=100&include_total=true", "sk-alice-http");
    expect(own.status).toBe(200);
    expect(own.body.total).toBe(logs.filter((l) => l.user === "alice").length);
    expect(own.body.data.every((x: any) => x.user === "alice")).toBe(true);
  });
});
